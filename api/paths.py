"""Path convertors of the routes: `{version:version}` never captures a sub-collection's name.

`PUT /groups/{group_id}/{version}` would otherwise take `PUT /groups/{id}/contacts` as an edit
of version "contacts" and answer 422; with the convertor the path matches only the collection's
own routes, and Starlette answers 405 for a method they do not have. Sub-collection names are
lowercase words (`contacts`, `group_connections`); a version is a UUID, which always holds a
digit or a hyphen, and a malformed one (`not-a-uuid`) still reaches the route and its 422.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class VersionConvertor(Convertor[str]):
    """A path segment that is not a bare lowercase word (a sub-collection's name)."""

    regex = "[^/]*[^a-z_/][^/]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


# Registered on import: the routers import this module before they declare their paths.
register_url_convertor("version", VersionConvertor())
