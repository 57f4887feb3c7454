from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.metrics import metrics_view

urlpatterns = [
    path("", RedirectView.as_view(url="/api/docs/", permanent=False)),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    path("auth/", include("core.auth_urls")),
    path("core/", include("core.urls")),
]

# The CV endpoints live at /cv/ and, for the existing SPA, also at /api/. The PDF generation route sits on
# the AI responses, so it is mounted beside them; it comes first so the router does not shadow it.
for _prefix in ("cv/", "api/"):
    urlpatterns += [path(_prefix, include("pdf.urls_generate")), path(_prefix, include("cv.urls"))]
urlpatterns.append(path("pdf/", include("pdf.urls")))

handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
