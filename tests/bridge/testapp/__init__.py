"""A test-only app the bridge tests serve (``store.*``), so they do not depend on the demo's models.

Installed by ``tests/settings.py``. Products have orders (a reverse foreign key) and carts hold products
(many-to-many); resources in ``resources.py``.
"""
