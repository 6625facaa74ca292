from rest_framework.views import APIView


class RoutingSimulateApi(APIView):
    pass
