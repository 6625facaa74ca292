from rest_framework.routers import SimpleRouter

from apps.api.rules.views import RoutingRuleViewSet

router = SimpleRouter()
router.register("rules", RoutingRuleViewSet, basename="rule")

urlpatterns = router.urls
