"""De-identification secrets as a Dagster resource (脱敏密钥)."""

import dagster as dg

from ycpipelines.deid.pseudonym import DEFAULT_VERSION, PseudonymKey


class DeidResource(dg.ConfigurableResource):
    """Bound from the environment, never logged. The key's version is no secret: it is
    recorded wherever pseudonyms are written."""

    pseudonym_key: str
    pseudonym_key_version: str = DEFAULT_VERSION

    @property
    def key(self) -> PseudonymKey:
        return PseudonymKey(self.pseudonym_key_version, self.pseudonym_key)
