"""Tests of golive.evidence.offline_html: stripping trackers and remote resources, proving none is left."""

from __future__ import annotations

import base64
import json

import pytest
from allure_pages import APP_BUNDLE, DATA_SCRIPT, OPTIONS_SCRIPT, allure_like_page

from golive.evidence.offline_html import (
    embedded_report_files,
    find_external_links,
    find_external_references,
    strip_external_resources,
)

# --------------------------------------------------------------------------- stripping


def test_gtm_snippet_is_removed_and_app_scripts_are_kept() -> None:
    page = allure_like_page()
    assert find_external_references(page)  # precondition: the tracker is seen

    clean, removed = strip_external_resources(page)

    assert "googletagmanager" not in clean
    assert "gtag(" not in clean
    assert "dataLayer" not in clean
    assert find_external_references(clean) == []
    assert len(removed) == 2
    assert any("googletagmanager" in item for item in removed)
    # The application itself survives byte for byte.
    assert f'<script src="{APP_BUNDLE}"></script>' in clean
    assert OPTIONS_SCRIPT in clean
    assert DATA_SCRIPT in clean
    assert '<div id="app"></div>' in clean
    assert clean.rstrip().endswith("</html>")


def test_stripping_a_clean_page_changes_nothing() -> None:
    page = allure_like_page(extra_body="")
    clean, removed = strip_external_resources(page)
    assert clean == page
    assert removed == []
    assert strip_external_resources(clean)[0] == clean


def test_other_trackers_and_remote_resources_are_removed() -> None:
    body = """
    <noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-X"></iframe></noscript>
    <script src="//cdn.example.test/lib.js"></script>
    <script>navigator.sendBeacon("/collect", "x")</script>
    <link rel="stylesheet" href="https://fonts.example.test/css">
    <link rel="preconnect" href="https://www.google-analytics.com">
    <img src="https://pixel.example.test/p.gif" width="1" height="1">
    <iframe src="https://embed.example.test/"></iframe>
    <a href="https://allurereport.org" ping="https://track.example.test/ping">Powered by</a>
    <div style="background: url('https://img.example.test/bg.png')">x</div>
    <style>
      @import url("https://fonts.example.test/a.css");
      .b { background: url(//img.example.test/b.png) }
    </style>
    """
    clean, removed = strip_external_resources(allure_like_page(extra_body=body))

    assert find_external_references(clean) == [], clean
    assert "example.test/" not in clean.replace("https://allurereport.org", "").replace(
        "https://ci.example.test/job/1", ""
    )
    # The plain link stays a link; only its ping beacon went away.
    assert '<a href="https://allurereport.org" >Powered by</a>' in clean
    assert len(removed) >= 10


def test_tracker_inside_the_app_bundle_is_reported_not_cut() -> None:
    bundle_js = 'var s=document.createElement("script");s.src="https://www.googletagmanager.com/gtm.js";'
    bundle = "data:text/javascript;base64," + base64.b64encode(bundle_js.encode()).decode()
    page = allure_like_page(extra_body=f'<script src="{bundle}"></script>')

    clean, _ = strip_external_resources(page)

    assert bundle in clean  # cutting the bundle would break the report
    findings = find_external_references(clean)
    assert any("googletagmanager" in item for item in findings)
    assert all("data:text/javascript" in item for item in findings)


# --------------------------------------------------------------------------- scanning


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ('<script src="https://cdn.example.test/a.js"></script>', "script[src]: https://cdn"),
        ("<script src=//cdn.example.test/a.js></script>", "script[src]: //cdn"),
        ('<link rel="stylesheet" href="http://cdn.example.test/a.css">', "link[href]: http://"),
        ("<img src='https://img.example.test/a.png'>", "img[src]: https://img"),
        ('<img srcset="a.png 1x, https://img.example.test/b.png 2x">', "img[srcset]: https://"),
        ('<iframe src="https://embed.example.test/"></iframe>', "iframe[src]: https://embed"),
        ('<video poster="https://img.example.test/p.png"></video>', "video[poster]: https://"),
        ('<meta http-equiv="refresh" content="0; url=https://x.example.test/">', "meta[content]"),
        ("<style>body{background:url(https://img.example.test/a.png)}</style>", "css url()"),
        ("<style>@import 'https://fonts.example.test/a.css';</style>", "css @import"),
        ('<div style="background:url(&quot;//img.example.test/a.png&quot;)"></div>', "css url()"),
        ('<script>fetch("https://api.example.test/v1")</script>', "js load: https://api"),
        ("<script>import('https://cdn.example.test/m.js')</script>", "js load: https://cdn"),
        ('<script>i.src="https://px.example.test/p.gif"</script>', "js .src=: https://px"),
        ("<script>gtag('config', 'G-1')</script>", "tracker: gtag("),
        ("<script>window.dataLayer = []</script>", "tracker: dataLayer"),
        ("<script>/* www.google-analytics.com */</script>", "tracker: google-analytics"),
        ('<a href="/x" ping="https://t.example.test/">x</a>', "a[ping]: https://t"),
    ],
)
def test_find_external_references_catches(snippet: str, expected: str) -> None:
    findings = find_external_references(f"<html><body>{snippet}</body></html>")
    assert any(expected in item for item in findings), findings


@pytest.mark.parametrize(
    "snippet",
    [
        '<a href="https://allurereport.org">Powered by Allure</a>',
        '<area href="https://x.example.test/" shape="rect">',
        '<form action="https://x.example.test/submit"></form>',
        '<svg xmlns="http://www.w3.org/2000/svg"><path fill="url(#a)"/></svg>',
        '<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns=%27http://www.w3.org/2000/svg%27/%3E">',
        '<img src="data:image/png;base64,iVBORw0KGgo=">',
        '<script src="app.js"></script><link rel="stylesheet" href="styles.css">',
        "<p>See https://docs.example.test/page for details.</p>",
        "<!-- <script src=https://old.example.test/a.js></script> -->",
        '<script>const ns = "http://www.w3.org/2000/svg"; fetch(`data/${id}.json`)</script>',
        '<textarea><script src="https://x.example.test/a.js"></script></textarea>',
    ],
)
def test_find_external_references_ignores_non_loads(snippet: str) -> None:
    assert find_external_references(f"<html><body>{snippet}</body></html>") == []


def test_text_links_are_listed_separately() -> None:
    page = (
        '<a href="https://allurereport.org">A</a><a href="#top">B</a>'
        '<form action="https://x.example.test/s"></form><img src="https://i.example.test/a.png">'
    )
    assert find_external_links(page) == [
        "a[href]: https://allurereport.org",
        "form[action]: https://x.example.test/s",
    ]
    assert find_external_references(page) == ["img[src]: https://i.example.test/a.png"]


def test_embedded_evidence_is_decoded_and_scanned() -> None:
    attachment = b'<html><body><img src="https://crm.example.test/logo.png"></body></html>'
    result = {"name": "T", "descriptionHtml": '<img src="https://d.example.test/x.png">'}
    calls = ",".join(
        f'd("{name}","{base64.b64encode(payload).decode()}")'
        for name, payload in [
            ("data/attachments/1.html", attachment),
            ("data/test-results/1.json", json.dumps(result).encode()),
            ("data/attachments/2.txt", b"https://plain.example.test/ is text"),
        ]
    )
    page = f"<html><body><script defer>Promise.allSettled([{calls}])</script></body></html>"

    files = embedded_report_files(page)
    assert files["data/attachments/1.html"] == attachment
    assert json.loads(files["data/test-results/1.json"])["name"] == "T"

    assert find_external_references(page, include_embedded=False) == []
    findings = find_external_references(page)
    assert len(findings) == 2
    assert "data/attachments/1.html" in findings[0]
    assert "https://crm.example.test/logo.png" in findings[0]
    assert "descriptionHtml" in findings[1]
