"""HTTP limits the web server (gunicorn) enforces before the app sees a request."""

MAX_REQUEST_LINE_BYTES = 8190  # method, path and query string; gunicorn's largest setting
