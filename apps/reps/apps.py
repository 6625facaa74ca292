from django.apps import AppConfig


class RepsConfig(AppConfig):
    name = "apps.reps"
    label = "reps"
