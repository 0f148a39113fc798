"""One router per resource of the contract."""

# The `{version:version}` path convertor must be known before any router declares its paths.
import api.paths  # noqa: F401
