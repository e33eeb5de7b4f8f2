"""HTML shaped like an Allure 3.18 single-file report, for the tests of the offline checks
and of report generation. Imported by test_offline_html.py and test_allure_cli.py."""

from __future__ import annotations

import base64
import json

# What Allure 3.18's awesome template emits (plugin-awesome/dist/generators.js).
GTM_SNIPPET = """
    <script async src="https://www.googletagmanager.com/gtag/js?id=G-LNDJ3J7WT0"></script>
    <script>
        window.dataLayer = window.dataLayer || [];
        function gtag(){dataLayer.push(arguments);}
        gtag('js', new Date());
        gtag('config', 'G-LNDJ3J7WT0', {
          "report": "awesome",
          "allureVersion": "3.18.0",
          "reportUuid": "97aa38b8-41e3-46eb-b392-34154fa026bb",
          "single_file": "true"
        });
    </script>
"""
APP_JS = 'window.allure = window.allure || {}; document.getElementById("app").textContent = "ok";'
APP_BUNDLE = "data:text/javascript;base64," + base64.b64encode(APP_JS.encode()).decode()
OPTIONS_SCRIPT = (
    "<script>\n      window.allureReportOptions = "
    '{"reportName":"Org \\u003C1\\u003E","ci":{"jobUrl":"https://ci.example.test/job/1"}}\n'
    "    </script>"
)
DATA_FILE = base64.b64encode(json.dumps({"name": "Login succeeds"}).encode()).decode()
DATA_SCRIPT = f'<script defer>Promise.allSettled([d("data/test-results/a.json","{DATA_FILE}")])</script>'


def allure_like_page(extra_body: str = GTM_SNIPPET) -> str:
    return f"""<!DOCTYPE html>
<html dir="ltr" lang="en">
<head>
    <meta charset="utf-8">
    <title> Org X </title>
    <link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'%3E%3C/svg%3E">
    <style>.loader {{ background: #f7f8fb; }}</style>
    {OPTIONS_SCRIPT}
</head>
<body>
    <svg viewBox="0 0 32 32" xmlns="http://www.w3.org/2000/svg"><path fill="url(#a)"/></svg>
    <div id="app"></div>
    <script src="{APP_BUNDLE}"></script>
    {extra_body}
    {DATA_SCRIPT}
</body>
</html>
"""
