"""(filled in by the api pages)"""

from fastapi import APIRouter

router = APIRouter()
