from django.db import migrations

# A copy, not an import of attribution.channels.DEFAULT_RULES: a migration must keep
# meaning what it meant when it was written.
DEFAULT_RULES = [
    ("medium", "equals", "cpc, ppc, paidsearch, paid_search, paid-search, sem", "Paid search"),
    ("medium", "equals", "paid_social, paidsocial, paid-social", "Paid social"),
    ("medium", "equals", "display, banner, cpm", "Display"),
    ("medium", "equals", "email, e-mail, newsletter", "Email"),
    ("source", "equals", "linkedin, facebook, twitter, x, instagram, youtube, reddit", "Social"),
    ("medium", "equals", "social, social-network, social_media, sm", "Social"),
    ("medium", "equals", "organic", "Organic search"),
    ("medium", "equals", "referral, partner", "Referral"),
    ("kind", "equals", "email_clicked", "Email"),
    ("kind", "equals", "ad_clicked", "Paid ads"),
    ("kind", "equals", "webinar_registered, webinar_attended", "Events and webinars"),
    ("source", "equals", "google, bing, duckduckgo, ecosia", "Organic search"),
]


def add_rules(apps, schema_editor):
    ChannelRule = apps.get_model("attribution", "ChannelRule")
    if ChannelRule.objects.exists():
        return
    ChannelRule.objects.bulk_create(
        ChannelRule(position=(index + 1) * 10, field=field, match=match, values=values, channel=channel)
        for index, (field, match, values, channel) in enumerate(DEFAULT_RULES)
    )


class Migration(migrations.Migration):
    dependencies = [("attribution", "0001_touchpoints_spend_and_credits")]
    operations = [migrations.RunPython(add_rules, migrations.RunPython.noop)]
