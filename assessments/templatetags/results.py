from django import template

register = template.Library()


@register.filter
def percent(value):
    """0.1234 -> '12.3%'."""
    return f"{float(value) * 100:.1f}%"


@register.filter
def percent_width(value):
    """A CSS width that does not depend on the locale's decimal separator."""
    return f"{max(0.0, min(1.0, float(value))) * 100:.2f}%"


@register.filter
def per_hundred(value):
    """0.573 -> '57': a share said as 'N in 100', the way people read risks best."""
    return f"{float(value) * 100:.0f}"
