"""(filled in by the deliveries pages)"""

from fastapi import APIRouter

router = APIRouter()
