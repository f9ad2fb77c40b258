"""The API's routes by area, each a Chalice blueprint that `app.py` registers: the public pages and
form, case work, administration, the archive, and reports. Each route parses its request, calls one
service and serialises the answer; services are imported when a route first needs them."""
