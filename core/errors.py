"""Django-level error pages (outside DRF views: unknown URLs, oversized bodies, crashes) in the API's shape."""

from django.http import JsonResponse


def bad_request(request, exception=None):
    return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)


def permission_denied(request, exception=None):
    return JsonResponse(
        {"detail": "You do not have permission to perform this action.", "code": "permission_denied"}, status=403
    )


def page_not_found(request, exception=None):
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


def server_error(request):
    return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)
