"""The nnlearn playground: TensorFlow Playground's pictures, trained by nnlearn itself.

``nnlearn playground`` (extra ``playground``: Starlette, uvicorn, websockets) serves a page
on http://127.0.0.1:8765/ whose network is an nnlearn ``Sequential`` trained on the server;
``export`` gives its Python code and its model file.  See :mod:`.session` (the training
state of one tab) and :mod:`.server` (the web server).
"""

from .session import PlaygroundSession, SettingsError, validate

__all__ = ["PlaygroundSession", "SettingsError", "validate", "create_app", "serve"]


def create_app(*args, **kwargs):
    from .server import create_app as create

    return create(*args, **kwargs)


def serve(*args, **kwargs):
    from .server import serve as run

    return run(*args, **kwargs)
