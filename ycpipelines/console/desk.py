"""(filled in by the desk pages)"""

from fastapi import APIRouter

router = APIRouter()
