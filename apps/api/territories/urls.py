from rest_framework.routers import SimpleRouter

from apps.api.territories.views import TerritoryViewSet

router = SimpleRouter()
router.register("territories", TerritoryViewSet, basename="territory")

urlpatterns = router.urls
