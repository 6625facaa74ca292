from rest_framework.routers import SimpleRouter

from apps.rules.api.views import RoutingRuleViewSet

router = SimpleRouter()
router.register("rules", RoutingRuleViewSet, basename="rule")

urlpatterns = router.urls
