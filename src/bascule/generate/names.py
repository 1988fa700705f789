"""Word lists for the synthetic Cagette data (French, with accents on purpose)."""

from __future__ import annotations

FIRST_NAMES = (
    "Jean", "Marie", "Pierre", "Sophie", "François", "Hélène", "Léa", "Noël", "Chloé", "Zoé",
    "Jérôme", "Cécile", "Anaïs", "Loïc", "Gaëlle", "Benoît", "Agnès", "Thérèse", "André", "Aurélie",
    "Lucas", "Camille", "Hugo", "Manon", "Théo", "Inès", "Julien", "Élodie", "Mathis", "Clément",
    "Nicolas", "Isabelle", "Sébastien", "Nathalie", "Stéphane", "Valérie", "Frédéric", "Françoise",
    "Michel", "Claire", "Antoine", "Océane", "Raphaël", "Maëlle", "Joël", "Ophélie", "Rémi", "Laure",
)
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Lefèbvre", "Mercier", "Dupont", "Lambert",
    "Bonnet", "François", "Martinez", "Légaré", "Bénard", "Guérin", "Boucher", "Chevalier",
    "Rivière", "Lemaître", "Perrot", "Barbé", "Noël", "Gauthier", "Hébert", "Müller", "Béranger",
)
EMAIL_DOMAINS = ("gmail.com", "orange.fr", "free.fr", "laposte.net", "yahoo.fr", "hotmail.fr",
                 "sfr.fr", "wanadoo.fr", "protonmail.com", "riseup.net")
CITIES = (
    ("Bordeaux", "33000"), ("Lyon", "69001"), ("Nantes", "44000"), ("Rennes", "35000"),
    ("Orléans", "45000"), ("Besançon", "25000"), ("Nîmes", "30000"), ("Angoulême", "16000"),
    ("Valence", "26000"), ("Périgueux", "24000"), ("Saint-Étienne", "42000"), ("Aix-en-Provence", "13100"),
    ("Montréal-la-Cluse", "01460"), ("Grenoble", "38000"), ("Tours", "37000"), ("Limoges", "87000"),
    ("Poitiers", "86000"), ("Béziers", "34500"), ("Sète", "34200"), ("Évreux", "27000"),
    ("Châteauroux", "36000"), ("Lorient", "56100"), ("Quimper", "29000"), ("Mâcon", "71000"),
)
STREETS = ("rue de la République", "place du Marché", "avenue Jean Jaurès", "rue des Écoles",
           "chemin des Prés", "rue Pasteur", "allée des Tilleuls", "boulevard Gambetta",
           "rue du Général de Gaulle", "impasse des Églantiers", "route de la Forêt")
GROUP_WORDS = ("AMAP", "AMAP", "Panier", "Les Paniers", "Locavores", "Épicerie", "Drive fermier",
               "Ruche", "Collectif", "Marché")
GROUP_SUFFIXES = ("du Jardin public", "des Chartrons", "de la Gare", "du Plateau", "des Pentes",
                  "de Saint-Michel", "des Quais", "du Bourg", "de l'Écluse", "des Côteaux",
                  "de la Vallée", "du Vieux Moulin", "des Halles", "de Bellevue", "du Lac")
FARM_WORDS = ("La ferme", "Le jardin", "GAEC", "EARL", "Les vergers", "La bergerie",
              "Le rucher", "La fromagerie", "Le moulin", "Les serres", "Domaine")
FARM_SUFFIXES = ("de la Galinette", "des Trois Chênes", "du Bois Joli", "de l'Aubépine",
                 "des Grands Prés", "du Ruisseau", "de Bel-Air", "des Hêtres", "du Mas Fleuri",
                 "de la Côte", "des Crêtes", "de Clairefontaine", "du Pré Vert", "des Genêts")
PRODUCTS = (
    ("Panier légumes", 0, 12.0), ("Petit panier légumes", 0, 8.5), ("Grand panier légumes", 0, 17.0),
    ("Œufs (6)", 0, 2.4), ("Œufs (12)", 0, 4.6), ("Pain complet", 1, 4.2), ("Baguette tradition", 0, 1.3),
    ("Fromage de chèvre", 0, 3.5), ("Tomme de brebis", 2, 24.0), ("Yaourt nature", 0, 0.8),
    ("Lait cru", 3, 1.2), ("Miel de châtaignier", 0, 8.0), ("Jus de pomme", 3, 3.2),
    ("Pommes", 1, 2.8), ("Poires", 1, 3.1), ("Fraises", 2, 9.0), ("Pommes de terre", 1, 1.9),
    ("Carottes", 1, 2.1), ("Courgettes", 1, 2.6), ("Salade", 0, 1.2), ("Colis de veau", 1, 17.5),
    ("Poulet fermier", 1, 11.5), ("Colis de porc", 1, 13.0), ("Farine de blé T80", 1, 2.3),
    ("Lentilles vertes", 1, 4.5), ("Bière blonde", 3, 3.8), ("Vin rouge", 3, 9.5), ("Savon au lait d'ânesse", 0, 5.5),
    ("Crème fraîche", 4, 2.9), ("Beurre doux", 2, 3.4), ("Confiture d'abricot", 2, 4.9), ("Champignons", 2, 14.0),
)
CATALOG_KINDS = ("Contrat légumes", "Contrat œufs", "Contrat pain", "Contrat fromages",
                 "Contrat volailles", "Commande viande", "Commande fruits", "Contrat lait",
                 "Commande miel", "Contrat champignons", "Commande épicerie", "Commande bières")
VOLUNTEER_ROLES = ("Responsable distribution", "Accueil", "Émargement", "Installation",
                   "Rangement", "Caisse")
PAYMENT_TYPES_AMAP = ("check", "check", "check", "transfer", "cash")
PAYMENT_TYPES_SHOP = ("card-terminal", "mangopay-ec", "mangopay-mp", "moneypot", "cash",
                      "onthespot", "transfer", "check")
MESSAGE_TITLES = ("Distribution de jeudi", "Rappel : paniers à récupérer", "Nouveau contrat œufs",
                  "Assemblée générale", "Changement de lieu", "Bénévoles recherchés",
                  "Fête de l'été à la ferme", "Renouvellement des contrats")
