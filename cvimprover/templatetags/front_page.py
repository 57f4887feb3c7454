from django import template

from cvimprover.admin_home import front_page

register = template.Library()


@register.inclusion_tag("admin/front_page_panels.html")
def operator_front_page() -> dict[str, object]:
    """The panels of the admin's front page (cvimprover.admin_home)."""
    return front_page()
