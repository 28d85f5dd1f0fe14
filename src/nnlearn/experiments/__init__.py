"""The seeds' experiments as functions returning their numbers."""
