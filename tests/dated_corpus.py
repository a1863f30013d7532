"""A 50-article knowledge folder for the date tests: 10 reports on the deal, 40 on other things.

Written for the tests (fictional outlets and follow-ups; only the first report is the bundled
Portaltic/EP article). The 10 reports on the Microsoft-OpenAI agreement are dated from January
2025 to April 2026 and restate, update or contradict each other's figures; the 40 others are
built from templates about unrelated news so that retrieval has something to wade through.
`eval/dated_questions.jsonl` asks which is the current state and names the report that should
answer first.

Regenerate a folder:  python tests/dated_corpus.py OUT_DIR
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import yaml

from bot.core.ingest import slugify

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "knowledge"
SEED = "microsoft-openai-acuerdo-2025"

# (id, date, outlet, title, paragraphs): the follow-ups of the bundled article, oldest first.
REPORTS: list[tuple[str, str, str, str, list[str]]] = [
    (
        "deal-02-rofr",
        "2025-02-18",
        "Diario Ficticio",
        "Microsoft y OpenAI aclaran el alcance del derecho de preferencia",
        [
            "MADRID, 18 Feb. - Microsoft y OpenAI han detallado cómo funcionará el derecho de "
            "preferencia que el gigante de Redmond conserva sobre la nueva capacidad de "
            "computación que necesite la creadora de ChatGPT.",
            "Según las compañías, Microsoft dispone de un plazo de 30 días para igualar "
            "cualquier oferta de capacidad de computación que OpenAI reciba de otro proveedor.",
            "Ambas empresas insisten en que el acuerdo sigue vigente hasta 2030 en los mismos "
            "términos anunciados en enero.",
        ],
    ),
    (
        "deal-03-ingresos",
        "2025-03-27",
        "Noticias Inventadas",
        "El reparto de ingresos entre Microsoft y OpenAI, al descubierto",
        [
            "Documentos consultados por este medio muestran que Microsoft recibe el 20 por "
            "ciento de los ingresos de OpenAI en virtud del acuerdo de reparto de ingresos.",
            "Desde 2019, Microsoft ha invertido 13.000 millones de dólares en OpenAI, la mayor "
            "parte en forma de créditos para usar la nube de Azure.",
            "Los analistas creen que el reparto de ingresos será el punto central de cualquier "
            "renegociación entre las dos compañías.",
        ],
    ),
    (
        "deal-04-oracle",
        "2025-05-12",
        "Gaceta Imaginaria",
        "OpenAI firma con Oracle para ampliar su capacidad de computación",
        [
            "OpenAI ha firmado con Oracle un contrato para ampliar su capacidad de computación "
            "con nuevos centros de datos, después de que Microsoft renunciara a igualar la "
            "oferta.",
            "La API de OpenAI sigue siendo exclusiva de Azure, por lo que los clientes "
            "empresariales no notarán cambios en el servicio.",
            "El contrato con Oracle se suma a la colaboración de ambas empresas en el proyecto "
            "Stargate.",
        ],
    ),
    (
        "deal-05-agi",
        "2025-06-30",
        "Crónica de Prueba",
        "La cláusula de la inteligencia artificial general tensa la relación",
        [
            "Microsoft y OpenAI negocian la cláusula de inteligencia artificial general (AGI), "
            "que permitiría a OpenAI limitar el acceso de Microsoft a su tecnología cuando "
            "declare haberla alcanzado.",
            "Mientras dure la negociación, el reparto de ingresos del 20 por ciento se mantiene "
            "y el acuerdo continúa vigente hasta 2030.",
            "Fuentes cercanas a las conversaciones describen un ambiente tenso entre los "
            "equipos de ambas compañías.",
        ],
    ),
    (
        "deal-06-memorando",
        "2025-09-12",
        "Diario Ficticio",
        "Microsoft y OpenAI firman un memorando de entendimiento no vinculante",
        [
            "Microsoft y OpenAI han firmado un memorando de entendimiento no vinculante que "
            "sienta las bases de la próxima fase de su colaboración.",
            "Según el memorando, Microsoft tendría una participación de alrededor del 30 por "
            "ciento en la futura sociedad de OpenAI.",
            "Las compañías esperan cerrar un acuerdo definitivo en los próximos meses.",
        ],
    ),
    (
        "deal-07-2032",
        "2025-10-28",
        "Diario Ficticio",
        "Microsoft y OpenAI renuevan su alianza hasta 2032",
        [
            "MADRID, 28 Oct. - Microsoft y OpenAI han firmado un nuevo acuerdo que amplía hasta "
            "2032 la colaboración que ambas compañías mantienen desde 2019.",
            "Microsoft mantendrá una participación del 27 por ciento en la nueva sociedad de "
            "OpenAI, valorada en unos 135.000 millones de dólares.",
            "Microsoft conservará los derechos sobre la propiedad intelectual de los modelos de "
            "OpenAI hasta 2032, incluidos los posteriores a la inteligencia artificial general.",
            "La API de OpenAI seguirá siendo exclusiva de Azure hasta que un panel confirme la "
            "llegada de la inteligencia artificial general.",
        ],
    ),
    (
        "deal-08-fin-preferencia",
        "2025-12-03",
        "Noticias Inventadas",
        "Microsoft renuncia a su derecho de preferencia y recorta su parte de ingresos",
        [
            "Microsoft ya no tiene derecho de preferencia sobre la nueva capacidad de "
            "computación de OpenAI, según la versión final del acuerdo publicada este miércoles.",
            "Desde 2026, Microsoft recibe el 15 por ciento de los ingresos de OpenAI, frente "
            "al reparto anterior.",
            "El cambio refleja el menor peso de Azure en el entrenamiento de los nuevos modelos.",
        ],
    ),
    (
        "deal-09-inversion",
        "2026-02-10",
        "Gaceta Imaginaria",
        "OpenAI se compromete a gastar en Azure una cifra récord",
        [
            "OpenAI se compromete a contratar servicios de Azure por valor de 250.000 millones "
            "de dólares durante la vigencia del nuevo acuerdo.",
            "Con la última ampliación, Microsoft ha invertido 16.000 millones de dólares en "
            "OpenAI desde el inicio de su colaboración.",
            "El compromiso de gasto compensa a Microsoft por la pérdida de la exclusividad.",
        ],
    ),
    (
        "deal-10-balance",
        "2026-04-21",
        "Crónica de Prueba",
        "Balance del acuerdo entre Microsoft y OpenAI seis meses después",
        [
            "El acuerdo entre Microsoft y OpenAI sigue vigente hasta 2032 y la colaboración "
            "continúa sin que ninguna de las dos partes haya pedido revisarlo.",
            "Un panel de expertos independientes verificará si OpenAI alcanza la inteligencia "
            "artificial general (AGI), lo que pondría fin a parte de los derechos de Microsoft.",
            "El proyecto Stargate cuenta ya con cinco centros de datos en Estados Unidos, "
            "gestionados por OpenAI, SoftBank y Oracle.",
        ],
    ),
]

CITIES = ["Sevilla", "Valencia", "Bilbao", "Zaragoza", "Málaga",
          "Murcia", "Valladolid", "Córdoba", "Vigo", "Gijón"]  # fmt: skip
TEAMS = ["Atlético Costero", "Real Meseta", "Unión Fluvial", "Deportivo Sierra", "CD Llanura",
         "Racing Bahía", "SD Valle", "Club Montaña", "UD Ribera", "Atlético Páramo"]  # fmt: skip
OUTLETS = ["Diario Ficticio", "Noticias Inventadas", "Gaceta Imaginaria", "Crónica de Prueba"]

FILLER = [
    (
        "lluvias-{slug}",
        "Alerta por lluvias intensas en {city}",
        [
            "La agencia meteorológica ha activado el aviso naranja por lluvias en {city}, donde "
            "se esperan hasta {n} litros por metro cuadrado en doce horas.",
            "El ayuntamiento de {city} ha suspendido las clases en {m} colegios y pide a los "
            "vecinos que eviten desplazamientos innecesarios.",
            "Los servicios de emergencia recuerdan que no se deben cruzar zonas inundadas.",
        ],
    ),
    (
        "futbol-{slug}",
        "El {team} gana en {city} y se acerca a los puestos de ascenso",
        [
            "El {team} se impuso por {n} goles a uno en su visita a {city} y suma ya {m} "
            "puntos en la clasificación.",
            "El entrenador destacó el trabajo defensivo del equipo y la aportación de los "
            "jugadores del filial.",
            "El próximo partido se disputará el domingo en casa ante el líder de la categoría.",
        ],
    ),
    (
        "museo-{slug}",
        "{city} inaugura un museo dedicado a la historia del ferrocarril",
        [
            "El nuevo museo de {city} reúne {n} piezas, entre locomotoras, billetes y "
            "uniformes, en una antigua nave de mercancías rehabilitada.",
            "La rehabilitación del edificio ha costado {m} millones de euros, financiados por "
            "el ayuntamiento y la comunidad autónoma.",
            "La entrada será gratuita durante el primer mes de apertura.",
        ],
    ),
    (
        "pleno-{slug}",
        "El pleno de {city} aprueba el presupuesto municipal",
        [
            "El pleno del ayuntamiento de {city} ha aprobado un presupuesto de {n} millones de "
            "euros gracias a un acuerdo entre los grupos del gobierno local.",
            "La partida de vivienda crece un {m} por ciento y la de transporte público se "
            "mantiene respecto al año anterior.",
            "La oposición ha criticado que no se incluyan nuevas escuelas infantiles.",
        ],
    ),
]


def _document(
    title: str, source: str, published: str, paragraphs: list[str], url: str | None
) -> str:
    meta: dict[str, object] = {
        "title": title,
        "source": source,
        "published": published,
        "language": "es",
    }
    if url:
        meta["url"] = url
    header = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000)
    return f"---\n{header}---\n\n" + "\n\n".join(paragraphs) + "\n"


def documents() -> dict[str, str]:
    """Return file name -> text of the 49 generated documents (the seed is copied)."""
    out: dict[str, str] = {}
    for doc_id, published, source, title, paragraphs in REPORTS:
        url = f"https://{slugify(source)}.example/{doc_id}"
        out[f"{doc_id}.md"] = _document(title, source, published, paragraphs, url)
    for t, (slug, title, paragraphs) in enumerate(FILLER):
        for i, city in enumerate(CITIES):
            values = {
                "city": city,
                "team": TEAMS[(i + t) % len(TEAMS)],
                "n": 20 + 7 * i + t,
                "m": 3 + i + 2 * t,
                "slug": f"{i + 1:02d}",
            }
            month = 1 + (i * 3 + t) % 12
            year = 2024 + (i + t) % 3
            published = f"{year}-{month:02d}-{1 + (i * 5 + t) % 27:02d}"
            name = slug.format(**values)
            out[f"{name}.md"] = _document(
                title.format(**values),
                OUTLETS[(i + t) % len(OUTLETS)],
                published,
                [p.format(**values) for p in paragraphs],
                None,
            )
    return out


def write_corpus(folder: Path) -> Path:
    """Write the 50-article folder (with the bundled glossary and templates); return it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(BUNDLED / f"{SEED}.md", folder / f"{SEED}.md")
    shutil.copy(BUNDLED / "glossary.yaml", folder / "glossary.yaml")
    shutil.copytree(BUNDLED / "templates", folder / "templates", dirs_exist_ok=True)
    for name, text in documents().items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/dated_corpus.py OUT_DIR")
    print(write_corpus(Path(sys.argv[1])))
