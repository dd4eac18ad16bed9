"""One file per temporal method. Every module here is imported, so adding a method is
adding a file whose function carries `@register_method`."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
