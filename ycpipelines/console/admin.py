"""Administration (管理): accounts and roles, authorizations and their 预案. The admin acts; the
supervisor reads the same lists with no form; every rule is the registry's."""

from fastapi import APIRouter

from ycpipelines.console import accounts, grants

router = APIRouter(include_in_schema=False)
router.include_router(accounts.router)
router.include_router(grants.router)
