"""The physical bounds of SmashRun values: every limit the models enforce is named here, once.

Each bound is generous but finite: it rejects what no runner, watch or weather station can produce (and what would
overflow something downstream), never what is merely odd. docs/validation-bounds.md gives the reasoning and the
sources; a value outside a bound quarantines its payload with the field path and the reason, never the value.
"""

from __future__ import annotations

# --- dates ------------------------------------------------------------------------------------------------------
MIN_YEAR, MAX_YEAR = (1900, 2100)  # plausible run dates; also keeps every UTC conversion and date part in range
MAX_UTC_OFFSET_MINUTES = 14 * 60  # real zones span UTC-12:00 (Baker Island) .. UTC+14:00 (Line Islands)

# --- one activity -----------------------------------------------------------------------------------------------
# The longest single recorded activities are multi-day races: 6-day races (record ~1,036 km) and the 10-day
# Self-Transcendence race (~1,300 km). Multi-week events (the 3,100-mile race) are many activities, one a day.
MAX_DISTANCE_KM = 2_000.0
MIN_DISTANCE_KM = 0.00001  # 1 cm: SmashRun rounds distance to 5 decimals, anything smaller is sent as 0
MAX_DURATION_SECONDS = 14 * 24 * 3600  # 14 days of moving time: beyond any single recorded race
MAX_CLOCK_SECONDS = 2 * MAX_DURATION_SECONDS  # wall clock (moving time plus pauses) inside one recording

# Fastest paces. Over more than 1 km nobody beats the mile world record (3:43.13, ~2:19 min/km): 1:30 min/km is
# far faster. Over any distance nobody beats Bolt's 44.7 km/h peak (1:20.5 min/km): 1:00 min/km (60 km/h)
# leaves room for GPS noise on very short runs. Slow paces are not bounded: a watch left running barely moving
# is real data, and max duration / min distance keeps even that pace finite.
MIN_PACE_MIN_PER_KM = 1.5  # over more than PACE_RULE_MIN_KM
PACE_RULE_MIN_KM = 1.0
MIN_PACE_ANY_DISTANCE_MIN_PER_KM = 1.0

# --- body -------------------------------------------------------------------------------------------------------
MIN_HEART_RATE, MAX_HEART_RATE = (20, 250)  # bpm: deep bradycardia in elite athletes ~27; infants peak ~230
MAX_RECORDED_HEART_RATE = MAX_HEART_RATE  # recording samples may be 0 (sensor dropout)
MAX_CADENCE = 400  # steps/min: elite sprinters reach ~300
MAX_CALORIES = 500_000  # kcal: ~1 kcal per kg per km x 250 kg x MAX_DISTANCE_KM
MIN_BODY_WEIGHT_KG, MAX_BODY_WEIGHT_KG = (2.0, 700.0)  # lightest adult on record ~2.1 kg, heaviest ~635 kg
MAX_POWER_WATTS = 3_000  # recording "power": track sprinters peak ~2,500 W

# --- elevation --------------------------------------------------------------------------------------------------
# Dead Sea shore -430 m and Everest 8,849 m, each with room for barometer and GPS error.
MIN_ELEVATION_M, MAX_ELEVATION_M = (-1_000.0, 9_500.0)
MAX_ELEVATION_NET_M = MAX_ELEVATION_M - MIN_ELEVATION_M  # net change can't exceed the altitude range
# Climb per activity: Tor des Geants ~24,000 m in one event, "Everesting" 8,849 m: four Tor des Geants.
MAX_ELEVATION_GAIN_M = 100_000.0

# --- weather ----------------------------------------------------------------------------------------------------
MIN_TEMPERATURE_C, MAX_TEMPERATURE_C = (-100.0, 70.0)  # Vostok -89.2 C, Death Valley 56.7 C
# Apparent temperature and wind chill: a -89 C, 50 km/h wind chill is ~-130 C; the highest heat index ~81 C.
MIN_FEELS_LIKE_C, MAX_FEELS_LIKE_C = (-130.0, 100.0)
MAX_WIND_KPH = 450  # highest surface gust measured: 408 km/h (Barrow Island, 1996)

# --- extended fields --------------------------------------------------------------------------------------------
MAX_SPEED_VARIABILITY = 1_000.0  # unit undocumented (0.084 in a real payload, 2-15 in the sandbox): sign only

# --- collections and text ---------------------------------------------------------------------------------------
MAX_LAPS = 10_000  # 400 m track laps over a 6-day race: ~2,600
MAX_RECORDING_KEYS = 64  # 7-10 known series
MAX_RECORDING_SAMPLES = 2 * MAX_DURATION_SECONDS  # 2 Hz over the longest activity
MAX_SONGS = 10_000
MAX_HEART_RATE_RECOVERY = 1_000
MAX_RECOVERY_SECONDS = 24 * 3600  # samples are taken minutes after the finish
MAX_SONG_BPM = 1_000.0
MAX_ID_CHARS = 64
MAX_NOTES_CHARS = 10_000  # SmashRun caps notes near 800 characters; a later, longer cap must not quarantine runs
MAX_TEXT_CHARS = 256  # names and codes: the longest city name (Bangkok's ceremonial one) has 168 characters
MAX_KEY_CHARS = 64  # a recordingKeys entry
INT64_MAX = 2**63 - 1  # ids SmashRun sends as JSON integers

# Per recordingKeys entry: the (min, max) of its samples. Unknown keys need only be finite numbers or null.
# latitude/longitude -1 (SmashRun's "no fix") lies inside the ranges and is stored as null.
RECORDING_BOUNDS: dict[str, tuple[float, float]] = {
    "clock": (0.0, float(MAX_CLOCK_SECONDS)),
    "duration": (0.0, float(MAX_DURATION_SECONDS)),
    "distance": (0.0, MAX_DISTANCE_KM),
    "latitude": (-90.0, 90.0),
    "longitude": (-180.0, 180.0),
    "elevation": (MIN_ELEVATION_M, MAX_ELEVATION_M),
    "heartRate": (0.0, float(MAX_RECORDED_HEART_RATE)),
    "cadence": (0.0, float(MAX_CADENCE)),
    "temperature": (MIN_TEMPERATURE_C, MAX_TEMPERATURE_C),
    "power": (0.0, float(MAX_POWER_WATTS)),
}
