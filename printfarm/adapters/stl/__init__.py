"""STL adapter: read binary or ASCII STL bytes with numpy-stl's record layout and validate the mesh.

    validate_stl(data) / validate_stl_file(path) -> StlReport (verdict ok | warning | rejected)

Bad content never raises: it is a rejected report whose errors carry stable codes.
"""

from printfarm.adapters.stl.report import StlIssue, StlLimits, StlReport
from printfarm.adapters.stl.validate import validate_stl, validate_stl_file

__all__ = ["StlIssue", "StlLimits", "StlReport", "validate_stl", "validate_stl_file"]
