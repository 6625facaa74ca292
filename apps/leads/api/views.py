# Replaced by the intake implementation.
from rest_framework.views import APIView


class LeadListCreateApi(APIView):
    pass


class LeadDetailApi(APIView):
    pass
