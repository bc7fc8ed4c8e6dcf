"""``vehicle_location``: a GPS point of the locations feed (``/fleet/vehicles/locations/feed``), lighter
than the stats feed's ``gps`` for live maps, its speed in the Function's unit system."""

from __future__ import annotations

from samsara_fmc.records._model import Field, RecordType

__all__ = ["VEHICLE_LOCATION"]

VEHICLE_LOCATION = RecordType(
    name="vehicle_location",
    stream="vehicle_locations",
    version=1,
    title="Vehicle location",
    description=(
        "One GPS point of one vehicle from the locations feed: position, heading, GPS speed converted"
        " to the Function's unit system (`speedUnit`: km/h or mph) and the reverse-geocoded address."
        " Positions are personal data where a vehicle is assigned to a person."
    ),
    id_description="`<vehicleId>:<time>`: stable, so a point delivered twice is the same record.",
    fields=(
        Field("vehicleId", "string", "The Samsara vehicle ID.", required=True),
        Field("vehicleName", ("string", "null"), "The vehicle's name in Samsara."),
        Field(
            "time",
            "string",
            "When the point was recorded (RFC 3339, UTC).",
            format="date-time",
            required=True,
        ),
        Field("latitude", "number", "Latitude (WGS 84).", unit="deg", personal=True, required=True),
        Field("longitude", "number", "Longitude (WGS 84).", unit="deg", personal=True, required=True),
        Field("headingDegrees", ("number", "null"), "Heading, clockwise from true north.", unit="deg"),
        Field("speed", ("number", "null"), "GPS speed, in `speedUnit`."),
        Field("speedUnit", "string", "The unit of `speed`.", enum=("km/h", "mph"), required=True),
        Field("address", ("string", "null"), "The reverse-geocoded address, as one line.", personal=True),
    ),
)
