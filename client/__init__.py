"""``python -m client …`` from a checkout: the ``lifeboat`` command of the SDK in this folder.

The SDK is its own distribution (``pip install ./client``: package ``lifeboat_client``,
command ``lifeboat``); this package only runs it without installing it.
"""

__all__: list[str] = []
