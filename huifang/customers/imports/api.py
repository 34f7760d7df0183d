from ninja import Router

events_router = Router(tags=["events"])
