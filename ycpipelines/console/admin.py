"""(filled in by the admin pages)"""

from fastapi import APIRouter

router = APIRouter()
