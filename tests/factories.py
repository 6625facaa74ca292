"""factory_boy factories for the domain models."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from apps.accounts.models import Account
from apps.leads.models import Lead
from apps.reps.models import Rep, TimeOff, WorkingHours
from apps.rules.models import RoutingRule
from apps.territories.models import Territory


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")


class TerritoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Territory
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"T{n}")
    name = factory.LazyAttribute(lambda t: f"Territory {t.code}")


class RepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rep
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    time_zone = "UTC"

    @factory.post_generation
    def territories(
        self, create: bool, extracted: list[Territory] | None, **kwargs: object
    ) -> None:
        if create and extracted:
            self.territories.set(extracted)


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingHours

    rep = factory.SubFactory(RepFactory)
    weekdays = [0, 1, 2, 3, 4]
    start = "09:00"
    end = "17:00"


class TimeOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeOff

    rep = factory.SubFactory(RepFactory)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    domain = factory.Sequence(lambda n: f"account{n}.com")
    name = factory.LazyAttribute(lambda a: a.domain.split(".")[0].title())


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    position = factory.Sequence(lambda n: n)
    conditions: list[object] = []
    strategy = "round_robin"


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"lead{n}@prospect{n}.com")
    email_domain = factory.LazyAttribute(lambda lead: lead.email.rsplit("@", 1)[1])
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
