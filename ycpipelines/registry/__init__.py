"""Registry database (运营登记库): approvals and the audit chain; SQLAlchemy 2 with Alembic."""

from ycpipelines.registry.errors import NotFound
from ycpipelines.registry.store import Registry, RegistryError, default_registry_url

__all__ = ["NotFound", "Registry", "RegistryError", "default_registry_url"]
