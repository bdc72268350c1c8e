"""Word and sentence pools the demo site's articles are written from.

Kept apart from the generator (:mod:`newsarchive.demosite.content`) so the
prose can grow without touching the logic. Every string here must be
encodable in windows-1252 (one article is served in that charset), and none
may contain the words the templates use as furniture labels ("advertisement",
"sponsored", "related stories", "most read", "latest stories", "min read"):
the extraction tests check those never leak into a story.
"""

from __future__ import annotations

SITE_NAME = "The Loopback Courier"
WIRE_PUBLISHERS = {"AP": "The Associated Press", "Reuters": "Reuters"}

SECTIONS = ("world", "business", "science")
SECTION_TITLES = {"world": "World", "business": "Business", "science": "Science"}

FIRST_NAMES = (
    "Anna", "Marta", "José", "Zoë", "Léa", "Jonas", "Tomás", "Ingrid", "Priya", "Kwame",
    "Amara", "Mateo", "Sofía", "Henrik", "Aiko", "Omar", "Leila", "Daniel", "Chloé", "Björn",
    "Nadia", "Rafael", "Elena", "Lukas", "Hana", "Yusuf", "Maren", "Pablo", "Irene", "Tobias",
    "Grace", "Samuel", "Noor", "Viktor", "Esther", "Felipe", "Astrid", "Kofi", "Mei", "Ruth",
)
SURNAMES = (
    "Kask", "Müller", "Okafor", "Lindqvist", "Moreau", "Haddad", "Novak", "Costa", "Tanaka",
    "Mensah", "Eriksen", "Dubois", "Alvarez", "Kowalski", "Rahman", "Fischer", "Oyelaran",
    "Petrov", "Søndergaard", "Ibáñez", "Ferreira", "Virtanen", "Nakamura", "Brennan", "Achebe",
    "Castillo", "Horvath", "Jansen", "Silva", "Wójcik", "Lambert", "Owusu", "Sato", "Keller",
    "Moyo", "Quintero", "Halvorsen", "Duarte", "Abebe", "Renaud",
)

# (city, country) pairs; the dateline is "CITY, Country (AP) — ".
PLACES = (
    ("Tallinn", "Estonia"), ("Nairobi", "Kenya"), ("Lima", "Peru"), ("Hanoi", "Vietnam"),
    ("Accra", "Ghana"), ("Oslo", "Norway"), ("Lisbon", "Portugal"), ("Manila", "Philippines"),
    ("Tbilisi", "Georgia"), ("Montevideo", "Uruguay"), ("Dakar", "Senegal"),
    ("Helsinki", "Finland"), ("Quito", "Ecuador"), ("Kraków", "Poland"),
    ("Reykjavík", "Iceland"), ("Bogotá", "Colombia"), ("São Paulo", "Brazil"),
    ("Riga", "Latvia"), ("Kigali", "Rwanda"), ("Wellington", "New Zealand"),
    ("Valparaíso", "Chile"), ("Ljubljana", "Slovenia"), ("Da Nang", "Vietnam"),
    ("Mombasa", "Kenya"), ("Tromsø", "Norway"), ("Porto", "Portugal"),
)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)

# Per section: the story's subject, who acts, what stands in the way, who is
# affected, and the kind of document people cite.
TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "world": {
        "subject": (
            "the ceasefire agreement", "the border reopening", "the electoral reform bill",
            "the drought relief programme", "the prisoner exchange", "the new constitution",
            "the port blockade", "the refugee resettlement plan", "the anti-corruption inquiry",
            "the fishing rights treaty", "the regional power-sharing deal",
            "the census of displaced families",
        ),
        "actor": (
            "the foreign ministry", "opposition leaders", "the interior ministry",
            "United Nations monitors", "regional governors", "the electoral commission",
            "the coast guard", "the national assembly", "local mayors", "aid agencies",
        ),
        "role": (
            "Foreign Minister", "Interior Minister", "opposition leader", "Deputy Prime Minister",
            "regional governor", "chief negotiator", "ombudsman",
        ),
        "obstacle": (
            "renewed shelling near the frontier", "a dispute over voter lists",
            "heavy flooding in the north", "objections from neighbouring states",
            "a strike by customs officers", "delays in foreign funding",
        ),
        "group": (
            "voters", "displaced families", "border residents", "farmers in the south",
            "local officials", "returning migrants",
        ),
        "document": ("report", "survey", "audit", "briefing note", "petition"),
        "measure": ("curfews", "voter registration drives", "relief corridors", "amnesty laws"),
    },
    "business": {
        "subject": (
            "the merger of the two carriers", "the new interest rate policy",
            "the factory expansion", "the freight tariff increase", "the bond sale",
            "the pension fund overhaul", "the bank's restructuring plan",
            "the takeover bid", "the wind farm investment", "the new trade corridor",
            "the minimum wage increase", "the semiconductor plant",
        ),
        "actor": (
            "the central bank", "shareholders", "the competition regulator", "the board",
            "the finance ministry", "labour unions", "the stock exchange", "institutional investors",
            "the chamber of commerce", "credit rating agencies",
        ),
        "role": (
            "chief executive", "Finance Minister", "central bank governor", "chief economist",
            "union leader", "chief financial officer", "trade commissioner",
        ),
        "obstacle": (
            "rising freight costs", "a shortage of skilled workers", "weaker export demand",
            "a legal challenge from rivals", "volatile energy prices", "tighter lending rules",
        ),
        "group": (
            "small businesses", "shareholders", "mortgage holders", "factory workers",
            "exporters", "first-time buyers",
        ),
        "document": ("filing", "forecast", "quarterly statement", "market study", "prospectus"),
        "measure": ("price caps", "tax credits", "export subsidies", "windfall levies"),
    },
    "science": {
        "subject": (
            "the deep-sea survey", "the malaria vaccine trial", "the glacier monitoring project",
            "the new radio telescope", "the coral restoration effort", "the genome study",
            "the satellite launch", "the fossil excavation", "the soil carbon experiment",
            "the earthquake early-warning network", "the bird migration census",
            "the battery recycling pilot",
        ),
        "actor": (
            "the research team", "the national science academy", "the space agency",
            "university laboratories", "the health ministry", "the museum's curators",
            "independent reviewers", "the geological survey", "marine biologists",
            "the ethics board",
        ),
        "role": (
            "lead researcher", "chief scientist", "project director", "professor of geology",
            "marine ecologist", "principal investigator", "science minister",
        ),
        "obstacle": (
            "a shortage of research funding", "storms that closed the field station",
            "a faulty sensor on the main instrument", "delays in peer review",
            "permit disputes with landowners", "an unusually warm season",
        ),
        "group": (
            "participants in the trial", "coastal communities", "graduate students",
            "local fishermen", "volunteer observers", "partner universities",
        ),
        "document": ("paper", "preprint", "field report", "data release", "review"),
        "measure": ("sampling programmes", "monitoring stations", "pilot studies", "field trials"),
    },
}

ORGANISATIONS = {
    "world": (
        "the Baltic Policy Institute", "the Coastal States Forum", "the Red Cross",
        "the Regional Security Council", "the Election Observers' Network",
        "the Transparency League",
    ),
    "business": (
        "Nordvik Shipping", "Alder & Crane", "Meridian Foods", "Halcyon Energy",
        "Orbis Telecom", "Brightwater Bank", "Calloway Logistics", "Sable Mining",
    ),
    "science": (
        "the Institute of Marine Research", "the Polar Observatory",
        "the Centre for Tropical Medicine", "the Open Genome Consortium",
        "the Highland Geology Trust", "the Southern Sky Array",
    ),
}

# Sentence shapes; {slots} are filled by the generator.
SENTENCES = (
    "{Person} said on {weekday} that {subject} would go ahead despite {obstacle}.",
    "The decision follows {n_small} months of negotiations involving {actor} and {org}.",
    "Officials in {city} said about {n_people} {group} had been affected so far.",
    "{Org_cap} estimated the cost at {money}, {pct} percent more than forecast in {month}.",
    "Critics, including {person2}, a former {role2}, argued that {subject} had been rushed.",
    "A {document} published in {month} found that {pct} percent of {group} backed the plan.",
    "{Actor_cap} did not respond to a request for comment on {weekday}.",
    "Similar {measure} were tried in {country2} in {year}, with mixed results.",
    "{Surname2} said the next review of {subject} was expected by {month}.",
    "The figures could not be independently verified, and {actor} declined to give details.",
    "At a briefing in {city}, {surname} described the past {n_small} weeks as difficult.",
    "More than {n_people} people signed a {document} calling for {subject} to be paused.",
    "{Surname} has led the work since {year}, when {actor} first proposed it.",
    "The plan sets aside {money} for {group} over the next {n_small} years.",
    "Under the proposal, {actor} would report to {org} every {n_small} months.",
    "{Person2} said the timetable was realistic but warned about {obstacle}.",
    "In {country2}, a comparable effort took {n_small} years and ran {pct} percent over budget.",
    "Local media in {city} reported that {n_people} {group} attended a meeting on {weekday}.",
    "The {document} lists {n_small} conditions that must be met before {subject} can proceed.",
    "Representatives of {group} are due to meet {surname} again in {month}.",
    "{Org_cap} said it had received {n_people} submissions during the consultation.",
    "The vote in {city} passed by {n_small} votes, according to a statement from {actor}.",
    "Researchers at {org} said the first results of {subject} would be shared in {month}.",
    "{Surname2}, who has followed the issue for {n_small} years, called the outcome a surprise.",
)

QUOTES = (
    "We have waited long enough for {subject}, and {group} deserve an answer",
    "Nobody expected {obstacle} to slow us down this much",
    "This is not the end of the process, it is the beginning of a new phase",
    "The numbers speak for themselves, and they are not good enough",
    "We listened to {group} and changed the plan where it mattered",
    "I don’t think anyone here underestimates how hard this will be",
    "Our job is to make sure {subject} works for the people of {city}",
    "It’s a step forward, but we will keep asking questions",
    "The evidence we have is strong, although it is still incomplete",
    "We were told {month} was realistic; now it’s clearly not",
)
QUOTE_SHAPES = (
    "“{quote},” {surname} told reporters in {city}.",
    "“{quote},” said {person2}, a {role2}.",
    "“{quote}.” {Surname2} made the remarks on {weekday}.",
    "{Surname} put it bluntly: “{quote}.”",
)

TITLE_SHAPES = {
    "world": (
        "{Country} agrees to {subject} after {n_small} days of talks",
        "Thousands rally in {City} over {subject}",
        "{Role} of {Country} defends {subject} as {group} protest",
        "{Country} delays {subject} amid {obstacle}",
        "Talks on {subject} resume in {City} after {n_small}-week pause",
        "{City} braces for {subject} as {actor} split",
    ),
    "business": (
        "{Org_cap} shares jump {pct}% after {subject} is approved",
        "{Org_cap} to cut {n_people} jobs as {obstacle} bites",
        "Investors question {subject} as {Org_cap} reports {money} loss",
        "{Country} regulator opens probe into {subject}",
        "{Org_cap} bets {money} on {subject} in {City}",
        "Why {group} in {Country} are watching {subject}",
    ),
    "science": (
        "Researchers in {City} report early results from {subject}",
        "{Org_cap} pauses {subject} after {obstacle}",
        "What {subject} could reveal about {Country}'s coastline",
        "{n_small} years on, {subject} yields a surprise in {City}",
        "Scientists in {Country} expand {subject} to {n_small} new sites",
        "Funding doubt hangs over {subject} in {City}",
    ),
}

SUMMARY_SHAPES = (
    "{Actor_cap} in {city} are weighing what {subject} means for {group}.",
    "A look at how {subject} unfolded and what comes next for {group}.",
    "{Org_cap} says {obstacle} could shape the outcome of {subject}.",
)

# Advertisers' teaser headlines (template "divsoup" shows them as sponsored blocks).
TEASERS = (
    "Retirees in your area are switching to this savings plan",
    "The gutter guard homeowners keep talking about",
    "Doctors stunned by this simple morning routine",
    "Five hotels travellers book again and again",
    "This kitchen gadget sold out three times this year",
    "Compare the top mortgage rates before they change",
    "The shoe brand podiatrists quietly recommend",
    "Why everyone is suddenly learning a language online",
)
