"""The official list of Denmark's 98 municipalities and their three-digit codes.

Source: Danmarks Statistik's classification of municipalities (KOMMUNE, the codes in
use since the municipal reform of 1 January 2007); the same codes are used by CPR and the
ministries' data. Christiansø (411) has a code but is not a municipality, so it is not
in the list. Names are without «Kommune», as Intro shows them.

The one rule that uses it, `municipality_code_problem`, is asked by every operation
that sets a municipality's code (creating and editing one in the admin pages).
"""

from __future__ import annotations

from intro.i18n import _

REGION_H = "Region Hovedstaden"
REGION_SJ = "Region Sjælland"
REGION_SD = "Region Syddanmark"
REGION_MJ = "Region Midtjylland"
REGION_NJ = "Region Nordjylland"

# code -> (name, region)
OFFICIAL: dict[str, tuple[str, str]] = {
    "101": ("København", REGION_H),
    "147": ("Frederiksberg", REGION_H),
    "151": ("Ballerup", REGION_H),
    "153": ("Brøndby", REGION_H),
    "155": ("Dragør", REGION_H),
    "157": ("Gentofte", REGION_H),
    "159": ("Gladsaxe", REGION_H),
    "161": ("Glostrup", REGION_H),
    "163": ("Herlev", REGION_H),
    "165": ("Albertslund", REGION_H),
    "167": ("Hvidovre", REGION_H),
    "169": ("Høje-Taastrup", REGION_H),
    "173": ("Lyngby-Taarbæk", REGION_H),
    "175": ("Rødovre", REGION_H),
    "183": ("Ishøj", REGION_H),
    "185": ("Tårnby", REGION_H),
    "187": ("Vallensbæk", REGION_H),
    "190": ("Furesø", REGION_H),
    "201": ("Allerød", REGION_H),
    "210": ("Fredensborg", REGION_H),
    "217": ("Helsingør", REGION_H),
    "219": ("Hillerød", REGION_H),
    "223": ("Hørsholm", REGION_H),
    "230": ("Rudersdal", REGION_H),
    "240": ("Egedal", REGION_H),
    "250": ("Frederikssund", REGION_H),
    "253": ("Greve", REGION_SJ),
    "259": ("Køge", REGION_SJ),
    "260": ("Halsnæs", REGION_H),
    "265": ("Roskilde", REGION_SJ),
    "269": ("Solrød", REGION_SJ),
    "270": ("Gribskov", REGION_H),
    "306": ("Odsherred", REGION_SJ),
    "316": ("Holbæk", REGION_SJ),
    "320": ("Faxe", REGION_SJ),
    "326": ("Kalundborg", REGION_SJ),
    "329": ("Ringsted", REGION_SJ),
    "330": ("Slagelse", REGION_SJ),
    "336": ("Stevns", REGION_SJ),
    "340": ("Sorø", REGION_SJ),
    "350": ("Lejre", REGION_SJ),
    "360": ("Lolland", REGION_SJ),
    "370": ("Næstved", REGION_SJ),
    "376": ("Guldborgsund", REGION_SJ),
    "390": ("Vordingborg", REGION_SJ),
    "400": ("Bornholm", REGION_H),
    "410": ("Middelfart", REGION_SD),
    "420": ("Assens", REGION_SD),
    "430": ("Faaborg-Midtfyn", REGION_SD),
    "440": ("Kerteminde", REGION_SD),
    "450": ("Nyborg", REGION_SD),
    "461": ("Odense", REGION_SD),
    "479": ("Svendborg", REGION_SD),
    "480": ("Nordfyns", REGION_SD),
    "482": ("Langeland", REGION_SD),
    "492": ("Ærø", REGION_SD),
    "510": ("Haderslev", REGION_SD),
    "530": ("Billund", REGION_SD),
    "540": ("Sønderborg", REGION_SD),
    "550": ("Tønder", REGION_SD),
    "561": ("Esbjerg", REGION_SD),
    "563": ("Fanø", REGION_SD),
    "573": ("Varde", REGION_SD),
    "575": ("Vejen", REGION_SD),
    "580": ("Aabenraa", REGION_SD),
    "607": ("Fredericia", REGION_SD),
    "615": ("Horsens", REGION_MJ),
    "621": ("Kolding", REGION_SD),
    "630": ("Vejle", REGION_SD),
    "657": ("Herning", REGION_MJ),
    "661": ("Holstebro", REGION_MJ),
    "665": ("Lemvig", REGION_MJ),
    "671": ("Struer", REGION_MJ),
    "706": ("Syddjurs", REGION_MJ),
    "707": ("Norddjurs", REGION_MJ),
    "710": ("Favrskov", REGION_MJ),
    "727": ("Odder", REGION_MJ),
    "730": ("Randers", REGION_MJ),
    "740": ("Silkeborg", REGION_MJ),
    "741": ("Samsø", REGION_MJ),
    "746": ("Skanderborg", REGION_MJ),
    "751": ("Aarhus", REGION_MJ),
    "756": ("Ikast-Brande", REGION_MJ),
    "760": ("Ringkøbing-Skjern", REGION_MJ),
    "766": ("Hedensted", REGION_MJ),
    "773": ("Morsø", REGION_NJ),
    "779": ("Skive", REGION_MJ),
    "787": ("Thisted", REGION_NJ),
    "791": ("Viborg", REGION_MJ),
    "810": ("Brønderslev", REGION_NJ),
    "813": ("Frederikshavn", REGION_NJ),
    "820": ("Vesthimmerlands", REGION_NJ),
    "825": ("Læsø", REGION_NJ),
    "840": ("Rebild", REGION_NJ),
    "846": ("Mariagerfjord", REGION_NJ),
    "849": ("Jammerbugt", REGION_NJ),
    "851": ("Aalborg", REGION_NJ),
    "860": ("Hjørring", REGION_NJ),
}


def municipality_code_problem(code: str) -> str | None:
    """None when `code` is one of the 98 official municipality codes, else a Danish
    message for the code field (e.g. 999 is refused)."""
    if code in OFFICIAL:
        return None
    if len(code) == 3 and code.isdigit():
        return _("{code} er ikke en dansk kommunekode. Brug koden fra Danmarks Statistik, fx 330 for Slagelse.").format(code=code)
    return _("Kommunekoden er de tre cifre fra Danmarks Statistik, fx 330 for Slagelse.")
