from rest_framework.routers import SimpleRouter

from apps.api.reps.views import RepViewSet, TimeOffViewSet

router = SimpleRouter()
router.register("reps", RepViewSet, basename="rep")
router.register("time-off", TimeOffViewSet, basename="time-off")

urlpatterns = router.urls
