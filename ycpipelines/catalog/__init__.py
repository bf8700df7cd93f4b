"""The declarative catalog (资源目录): bureaus, datasets, fields with level and policy, products."""

from ycpipelines.catalog.load import CatalogError, load_catalog
from ycpipelines.catalog.models import Catalog, Dataset, Policy, Product, Role, SourceField
from ycpipelines.catalog.release import ReleaseForm, Thresholds
from ycpipelines.catalog.standards import Standard
from ycpipelines.foundation.levels import Level

__all__ = [
    "Catalog",
    "CatalogError",
    "Dataset",
    "Level",
    "Policy",
    "Product",
    "ReleaseForm",
    "Role",
    "SourceField",
    "Standard",
    "Thresholds",
    "load_catalog",
]
