"""The nnlearn playground: TensorFlow Playground's pictures, trained by nnlearn itself.

``nnlearn playground`` (extra ``playground``: Starlette, uvicorn, websockets) serves a page
on http://127.0.0.1:8765/ whose network is an nnlearn ``Sequential`` trained on the server;
``export`` gives its Python code and its model file.  See :mod:`.session` (the training
state of one tab) and :mod:`.server` (the web server).
"""

from .session import PlaygroundSession, SettingsError, validate

__all__ = ["PlaygroundSession", "SettingsError", "validate", "create_app", "serve"]


def create_app(*args, **kwargs):
    """The playground's web application (see :func:`nnlearn.playground.server.create_app`;
    imported lazily, as it needs the ``playground`` extra)."""
    from .server import create_app as create

    return create(*args, **kwargs)


def serve(*args, **kwargs):
    """Serve the playground (see :func:`nnlearn.playground.server.serve`; imported lazily,
    as it needs the ``playground`` extra)."""
    from .server import serve as run

    return run(*args, **kwargs)
