# PyPI's Open311 client `three` (Python 2 only) against intake's Open311 API: discovery,
# services, a POST with a photo as three sends it (multipart/form-data, `media`), and the
# request read back.
#
# usage: python2 open311_three.py ROOT_URL PHOTO
import sys

from three import Three

root, photo = sys.argv[1], sys.argv[2]
passed, failures = [], []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    (passed if ok else failures).append(what)


t = Three(root + "/", api_key="demo-open311-key")
d = t.discovery()
check(d["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2",
      "three: discovery()")
codes = set(s["service_code"] for s in t.services())
check("water" in codes, "three: services()")
answer = t.post("water", address="Jl. Pendidikan, Sangatta", name="Budi Santoso",
                description="Pipa PDAM bocor di depan sekolah", media=open(photo, "rb"))
ok = isinstance(answer, list) and answer and "service_request_id" in answer[0]
check(ok, "three: post(media=...) -> %r" % (answer,))
if ok:
    print("THREE_ID=%s" % answer[0]["service_request_id"])

print("open311_three: %d passed, %d failed" % (len(passed), len(failures)))
sys.exit(1 if failures else 0)
