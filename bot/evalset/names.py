"""Given-name and surname pools per origin, written for the evaluation set alone.

These pools are deliberately independent of the detector's own lexicon (never import it here): the
evaluation set measures how the engine does on names it was not tuned on. Surnames keep their usual
particles, hyphens, apostrophes and diacritics ("de la Roche", "N'Diaye", "Ould Ahmed", "Nguyễn").
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Pool:
    """Names of one origin: female and male given names, and surnames."""

    female: tuple[str, ...]
    male: tuple[str, ...]
    surnames: tuple[str, ...]


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


POOLS: dict[str, Pool] = {
    "french": Pool(
        _split(
            "Marie; Jeanne; Françoise; Monique; Catherine; Nathalie; Isabelle; Sylvie; Chloé; Léa; Manon;"
            "Anne-Sophie; Marie-Claude; Hélène; Geneviève; Colette; Odile; Bernadette; Inès; Éloïse; Maëlle"
        ),
        _split(
            "Jean; Pierre; Michel; André; Philippe; Jean-Pierre; Jean-Luc; François; Gérard; Thierry;"
            "Hervé; Benoît; Loïc; Théo; Hugo; Mathéo; Rémi; Jérôme; Lucien; Marcel; Émile"
        ),
        _split(
            "Martin; Bernard; Dubois; Lefèvre; Moreau; Girard; Rousseau; Mercier; Fontaine; Chevalier;"
            "de la Roche; Du Pont; Lemaître; Fauré; Bézier; Péret; Delacroix; Saint-Martin; d'Arcy;"
            "Lacoste; Besnard; Deschamps; Marchand; Boucher; Perrin; Gauthier"
        ),
    ),
    "breton": Pool(
        _split("Nolwenn; Gwenaëlle; Maïwenn; Rozenn; Soazig; Katell; Enora; Anaïg; Gwenola; Awena; Morgane"),
        _split("Yann; Erwan; Gwenaël; Loïg; Tanguy; Ronan; Goulven; Gurvan; Malo; Alan; Yannick; Corentin"),
        _split(
            "Le Goff; Le Gall; Le Bihan; Kerhervé; Le Floc'h; Guivarc'h; Tanguy; Le Roux; Quéré; Kervella;"
            "Le Meur; Le Bras; Morvan; Prigent; Kerjean; Le Corre; Riou; Jaouen; Cadiou; Le Brun; Goasdoué"
        ),
    ),
    "vietnamese": Pool(
        _split("Thị Lan; Thu Hà; Ngọc Anh; Mai; Hương; Thanh Tâm; Phương; Hằng; Linh; Thúy; Kim Oanh"),
        _split("Văn Minh; Quang Huy; Đức Anh; Tuấn; Hoàng; Bảo; Thanh Sơn; Quốc Khánh; Long; Hải; Dũng"),
        _split(
            "Nguyễn; Trần; Lê; Phạm; Hoàng; Huỳnh; Phan; Vũ; Võ; Đặng; Bùi; Đỗ; Hồ; Ngô; Dương; Lý;"
            "Nguyen; Tran; Pham; Truong; Dinh"
        ),
    ),
    "polish": Pool(
        _split(
            "Agnieszka; Małgorzata; Katarzyna; Zofia; Joanna; Dorota; Ewa; Bożena; Grażyna; Jadwiga; Halina"
        ),
        _split(
            "Krzysztof; Grzegorz; Wojciech; Łukasz; Piotr; Tomasz; Stanisław; Jerzy; Zbigniew; Paweł; Marek"
        ),
        _split(
            "Kowalski; Nowak; Wiśniewska; Wójcik; Kamińska; Lewandowski; Zieliński; Szymańska; Woźniak;"
            "Dąbrowski; Kozłowska; Jankowski; Mazur; Krawczyk; Piotrowski; Grabowska; Pawłowski; Michalak"
        ),
    ),
    "wolof": Pool(
        _split("Fatou; Aminata; Awa; Khady; Ndèye; Mame Diarra; Coumba; Astou; Sokhna; Adama; Rokhaya"),
        _split("Mamadou; Ousmane; Cheikh; Abdoulaye; Moustapha; Modou; Babacar; Serigne; Pape; Ibrahima"),
        _split(
            "N'Diaye; Ndiaye; Diop; Fall; Sow; Sarr; Mbaye; Faye; Gueye; Seck; Thiam; Cissé; Niang; Ba;"
            "Mbengue; Diouf; Sène; Dieng; Kane; Wade; Ndour; Sy"
        ),
    ),
    "bambara": Pool(
        _split("Mariam; Kadiatou; Oumou; Djeneba; Assitan; Fatoumata; Nana; Salimata; Aïssata; Bintou; Hawa"),
        _split(
            "Boubacar; Seydou; Moussa; Bakary; Souleymane; Drissa; Lassana; Sékou; Modibo; Siaka; Yacouba"
        ),
        _split(
            "Traoré; Keïta; Coulibaly; Diarra; Konaté; Sissoko; Dembélé; Sangaré; Kanté; Touré; Camara;"
            "Doumbia; Diallo; Kouyaté; Bagayoko; Maïga; Samaké; Koné; Dicko; Tounkara"
        ),
    ),
    "maghrebi": Pool(
        _split(
            "Fatima; Khadija; Yasmina; Nadia; Samira; Leïla; Malika; Zineb; Houria; Rachida; Meriem; Soumaya"
        ),
        _split("Mohamed; Ahmed; Karim; Rachid; Mustapha; Abdelkader; Youssef; Hamid; Mehdi; Nordine; Saïd"),
        _split(
            "Benali; Ben Youssef; Ould Ahmed; El Amrani; Bouzid; Belkacem; Haddad; Chaouch; Benmoussa;"
            "Ait Ouali; Mansouri; Zeroual; El Idrissi; Boukhari; Bensaïd; Amrani; Hamidi; Lahlou; Tazi;"
            "Ben Salah; Bel Hadj; Abdelaziz"
        ),
    ),
    "turkish": Pool(
        _split("Ayşe; Fatma; Emine; Hatice; Zeynep; Elif; Özlem; Gülşen; Şule; Büşra; Derya; Hülya"),
        _split("Mehmet; Mustafa; Ahmet; Hüseyin; İbrahim; Ömer; Yusuf; Murat; Emre; Burak; Çağrı; Oğuz"),
        _split(
            "Yılmaz; Kaya; Demir; Şahin; Çelik; Yıldız; Yıldırım; Öztürk; Aydın; Özdemir; Arslan; Doğan;"
            "Kılıç; Aslan; Çetin; Koç; Kurt; Özkan; Şimşek; Erdoğan; Güneş"
        ),
    ),
    "portuguese": Pool(
        _split("Maria; Ana; Conceição; Fernanda; Graça; Rosário; Joana; Inês; Beatriz; Leonor; Fátima"),
        _split("João; José; António; Manuel; Joaquim; Luís; Gonçalo; Tiago; Rui; Sebastião; Vasco"),
        _split(
            "Silva; Santos; Ferreira; Pereira; Oliveira; Costa; Rodrigues; Martins; Gonçalves; Lopes;"
            "Marques; Sousa; Carvalho; Magalhães; Fernandes; da Silva; dos Santos; Simões; Conceição; Brandão"
        ),
    ),
    "italian": Pool(
        _split("Giulia; Francesca; Chiara; Giovanna; Rosaria; Antonella; Lucia; Federica; Serena; Carmela"),
        _split("Giuseppe; Giovanni; Antonio; Salvatore; Francesco; Luca; Matteo; Lorenzo; Nicolò; Gennaro"),
        _split(
            "Rossi; Russo; Ferrari; Esposito; Bianchi; Romano; Colombo; Ricci; Marino; Greco; Bruno;"
            "Gallo; Conti; De Luca; Mancini; Costa; Giordano; Lombardi; Moretti; D'Angelo; Di Stefano;"
            "Lo Russo"
        ),
    ),
    "german": Pool(
        _split("Ursula; Brigitte; Sabine; Petra; Monika; Jürgen; Anneliese; Gisela; Käthe; Hannelore; Jutta"),
        _split("Klaus; Wolfgang; Günter; Jürgen; Dieter; Horst; Uwe; Jörg; Hans-Peter; Matthias; Björn"),
        _split(
            "Müller; Schmidt; Schneider; Fischer; Weber; Meyer; Wagner; Becker; Schulz; Hoffmann; Schäfer;"
            "Koch; Bauer; Richter; Klein; Wolf; Schröder; Neumann; von Bülow; Große; Krüger; Weiß"
        ),
    ),
    "armenian": Pool(
        _split("Anahit; Lusine; Armine; Siranush; Nairi; Gayane; Shushan; Hasmik; Tatevik; Astghik"),
        _split("Aram; Armen; Hovhannes; Tigran; Vardan; Garegin; Ashot; Levon; Sarkis; Hrant; Karapet"),
        _split(
            "Petrossian; Hovhannisyan; Sarkissian; Grigoryan; Khatchadourian; Aznavourian; Manoukian;"
            "Papazian; Ter-Petrosyan; Boghossian; Kevorkian; Avetisyan; Harutyunyan; Mardirossian;"
            "Der Sarkissian; Vardanyan; Karapetyan; Balian"
        ),
    ),
    "spanish": Pool(
        _split("Carmen; Dolores; Pilar; Mercedes; Rocío; Inmaculada; Lucía; Begoña; Ainhoa; Montserrat"),
        _split("José Luis; Javier; Jesús; Francisco; Alejandro; Íñigo; Andrés; Ramón; Sergio; Álvaro"),
        _split(
            "García; Fernández; González; Rodríguez; López; Martínez; Sánchez; Pérez; Gómez; Jiménez;"
            "Muñoz; Álvarez; Romero; Núñez; Iglesias; de la Fuente; del Río; Ibáñez; Echeverría; Peña"
        ),
    ),
    "romanian": Pool(
        _split("Ioana; Elena; Mihaela; Andreea; Cristina; Gabriela; Florentina; Ileana; Roxana; Ștefania"),
        _split("Ion; Gheorghe; Vasile; Constantin; Mihai; Dumitru; Ștefan; Răzvan; Cătălin; Bogdan; Sorin"),
        _split(
            "Popescu; Ionescu; Popa; Stan; Dumitrescu; Dinu; Stoica; Gheorghiu; Rusu; Munteanu; Matei;"
            "Constantinescu; Șerban; Lazăr; Mocanu; Ionașcu; Vlădescu; Bălan; Tănase; Nistor"
        ),
    ),
    "chinese": Pool(
        _split("Xiaoling; Mei; Li Na; Jing; Yan; Xiu Ying; Hui; Ling; Fang; Qiong; Yuxin; Zhenzhen"),
        _split("Wei; Jun; Hao; Zhiwei; Jian; Qiang; Lei; Xiaoming; Yong; Bo; Tao; Zhen"),
        _split(
            "Wang; Li; Zhang; Liu; Chen; Yang; Huang; Zhao; Wu; Zhou; Xu; Sun; Ma; Zhu; Hu; Guo; He; Lin;"
            "Gao; Luo; Zheng; Xie"
        ),
    ),
    "malagasy": Pool(
        _split("Voahangy; Hanitra; Lalao; Fara; Tiana; Noro; Hery; Vola; Haingo; Nirina; Soa"),
        _split("Rivo; Tahina; Andry; Mamy; Rado; Fetra; Hery; Njaka; Tojo; Lova; Faly"),
        _split(
            "Rakotomalala; Randrianarisoa; Rasoanaivo; Andriamanantena; Razafindrakoto; Rakotoarisoa;"
            "Ratsimbazafy; Andrianjafy; Rabemananjara; Razanamparany; Ravelojaona; Rasolofonirina;"
            "Ramanantsoa; Randriamampionona; Rajaonarison"
        ),
    ),
    "congolese": Pool(
        _split("Mbuyi; Nsimba; Kapinga; Ngalula; Mujinga; Bijou; Espérance; Grâce; Ntumba; Mwamba; Yvette"),
        _split("Kabongo; Lukusa; Mukendi; Dieudonné; Patrice; Kasongo; Ilunga; Nkiambi; Bienvenu; Fiston"),
        _split(
            "Kabila; Tshisekedi; Mutombo; Kalonji; Nzuzi; Mbemba; Lumumba; Kabasele; Tshibangu;"
            "Mpiana; Kayembe; Matondo; Makiadi; Nsingi; Mabiala; Kitenge; Lokwa; Ngoy; Wa Kabongo"
        ),
    ),
    "haitian": Pool(
        _split("Marie-Ange; Rose-Marie; Nadège; Guerline; Mirlande; Nathacha; Fabiola; Roseline; Sonia"),
        _split("Jean-Baptiste; Wilner; Frantz; Jean-Robert; Ricardo; Wisly; Ernst; Dieuseul; Jocelyn"),
        _split(
            "Jean-Baptiste; Pierre-Louis; Saint-Fleur; Joseph; Charles; Étienne; Louissaint; Dorvil;"
            "Célestin; Théodore; Bien-Aimé; Desrosiers; Augustin; Jean-Louis; Métellus; Toussaint; Dérisier"
        ),
    ),
    "english": Pool(
        _split(
            "Margaret; Elizabeth; Sarah; Emily; Charlotte; Siobhan; Megan; Olivia; Hannah; Gemma; Kathleen"
        ),
        _split("John; David; Michael; Robert; William; Thomas; James; Oliver; Harry; Gareth; Declan; Callum"),
        _split(
            "Smith; Jones; Williams; Taylor; Brown; Davies; Evans; Wilson; Thompson; O'Brien; O'Connor;"
            "McDonald; MacLeod; Fitzgerald; Hughes; Walker; Robinson; Wright; Ashworth; Pemberton-Hale"
        ),
    ),
}

ORIGINS: tuple[str, ...] = tuple(POOLS)


@dataclass(frozen=True, slots=True)
class Person:
    """A made-up patient: name, sex, birth date (year, month, day) and record numbers."""

    origin: str
    given: str
    surname: str
    sex: str  # "F" or "M"
    birth: tuple[int, int, int]
    ipp: str
    stay: str

    def age(self, reference_year: int) -> int:
        """Age in whole years on 1 July of the reference year (no clock involved)."""
        year, month, _ = self.birth
        return reference_year - year - (1 if month > 7 else 0)


def draw_person(rng: random.Random, reference_year: int, origin: str | None = None) -> Person:
    """A person of the given (or a drawn) origin born 0 to 98 years before the reference year."""
    origin = origin or rng.choice(ORIGINS)
    pool = POOLS[origin]
    sex = rng.choice("FM")
    given = rng.choice(pool.female if sex == "F" else pool.male)
    surname = rng.choice(pool.surnames)
    if rng.random() < 0.08:  # a double-barrelled surname now and then
        other = rng.choice(pool.surnames)
        if other != surname and " " not in surname + other:
            surname = f"{surname}-{other}"
    year = reference_year - rng.randint(0, 98)
    birth = (year, rng.randint(1, 12), rng.randint(1, 28))
    ipp = str(rng.randint(10**6, 10**8 - 1)).rjust(rng.choice((7, 8)), "0")
    stay = str(rng.randint(10**8, 10**9 - 1))
    return Person(origin, given, surname, sex, birth, ipp, stay)
