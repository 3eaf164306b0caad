"""One date format on every page: “29 Nov 2026”, with the time “29 Nov 2026 14:05”.
Django's English locale would write “Nov. 29, 2026” where a template gives no format."""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y H:i"
MONTH_DAY_FORMAT = "j M"
YEAR_MONTH_FORMAT = "M Y"
