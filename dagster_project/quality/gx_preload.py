"""Imported by the validation fork server so that its children start with Great Expectations loaded.

The fork server's `__main__` has no file, so GX is imported through `import_gx` (see there).
"""

from dagster_project.quality.gx_runtime import import_gx

import_gx()
