"""HTTP routes; each module is an APIRouter, the domain does the work."""
