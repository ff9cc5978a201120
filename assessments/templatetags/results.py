from django import template

register = template.Library()


@register.filter
def percent(value):
    """0.1234 -> '12.3%'."""
    return f"{float(value) * 100:.1f}%"


@register.filter
def per_hundred(value):
    """0.573 -> '57': a share said as 'N in 100', the way people read risks best."""
    return f"{float(value) * 100:.0f}"


@register.filter
def unlocalized_number(value):
    """A number for an HTML attribute (a <meter>'s value), whatever the locale's decimal separator."""
    return f"{float(value):.4f}"


@register.filter
def measures_table(assessment):
    """The atrophy measures as the doctors read them (value, strip, both groups' quartiles, age)."""
    from assessments.presentation.measures import doctors_table

    return doctors_table(assessment)
