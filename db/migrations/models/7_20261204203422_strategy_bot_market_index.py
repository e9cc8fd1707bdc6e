"""Migration strategy_bot_market_index (both dialects)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_SQLITE_UP = r"""
        CREATE INDEX "idx_strategy_bo_symbol_35088e" ON "strategy_bots" ("symbol", "status");"""

_POSTGRES_UP = r"""
        CREATE INDEX IF NOT EXISTS "idx_strategy_bo_symbol_35088e" ON "strategy_bots" ("symbol", "status");"""

_SQLITE_DOWN = r"""
        DROP INDEX IF EXISTS "idx_strategy_bo_symbol_35088e";"""

_POSTGRES_DOWN = r"""
        DROP INDEX IF EXISTS "idx_strategy_bo_symbol_35088e";"""


def _is_postgres(db: BaseDBAsyncClient) -> bool:
    return db.capabilities.dialect == "postgres"


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_UP if _is_postgres(db) else _SQLITE_UP


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_DOWN if _is_postgres(db) else _SQLITE_DOWN


MODELS_STATE = (
    "eJztXVt32rgW/itavJx2rZxOk6ZphvNEAukwJcABMm1nmOUKW4AnRnZt04SZ0/9+JPmCL7"
    "Kxzc24eskKkrYvn2Rp3/c/tYWuIM161Vgqqt3RZ7U6+KeG4QKRf2J9Z6AGDWPdQxtsONHY"
    "YEhHSZo7bGLZJpRt0jGFmoVIk4Is2VQNW9UxacVLTaONukwGqni2blpi9esSSbY+Q/Ycma"
    "Tjjz9Js4oV9Iws76fxKE1VpCmh51UVem/WLtkrg7W1sX3HBtK7TSRZ15YLvB5srOy5jv3R"
    "KrZp6wxhZEIb0cvb5pI+Pn0691W9N3KedD3EecQAjYKmcKnZgdedSOu2miR1eyNp2BpJUi"
    "0HQLKOKbjkUS329jP6CP++OL98d3n95urymgxhj+m3vPvu3HoNjEPI4OmOat9ZP7ShM4Jh"
    "vAaVzKJuSjbS0MyEC4mH8Y06S4SZS74ZdQ/jAOwuqD7q3pA17Ouldjjcf764ePPm3cXrN1"
    "fXby/fvXt7/dqfgHhX2kzctN/TySADdPLlON+UNzuh2aDPGZuC2zk0EyfApYigTl4mA+qx"
    "xX5s2BfwWdIQntlz8vPqMgXR3xqD218agxdXly/DsHbdngvWFQZYn/yFZNsBKQfKEbLDQV"
    "2rHQToNxcZgH5zkQg07eICzdtPNsLM3UVOH+Tdr2YF2VB1DuowxL8Oe10+xAGSCMCKKtvg"
    "f0BTrRPcrlOQpVjQKy8s66sWRPTFfeNTFOzbTu+GYaNb9sxkV2EXuIkgL5uIYiNBOw5+k/"
    "TY6gLxJyBMGZ0Dl/SV989ulvxBGRbyfkoPayv3vikzM2rft4ajxn0/ND3NxqhFey5Y6yrS"
    "+uIqMmX+RcDH9ugXQH+C33vdVnQW/XGj32v0meDS1iWsP0lQCUDktXowhiZ9aSGTu6Mlsk"
    "cBigoxRVsxo5S9nz5yeVGKVhzcO91E6gx/QCuGcZs8EcQy7xx2BZoH9zKnhe13b+14retH"
    "NOGTLw4FlxR5dfLCyGYvT+4Pug+dTo0hPIHy4xM0FSkENe3RL/RIiz823rW4WERbIIYzhg"
    "59DfrQLuqtZ3kO8Qw1ZFlfsqePSZrRIWdpAidyB0vQGW3tXvD8w19xZE0grfankESPKIl6"
    "E56HYQzSVFD+uXidgWO8eJ3IMdKuMN+ygOYjSpN/Wni5iO2zIcwjlygz7LVhvzeqA8vQ7T"
    "Eefmz0yf9P0KgVmIosvHsy6x7j3J0NJ8dK9wnKjHdpBCNoqNIjWkkIy3GQR+g5SZsVJisE"
    "dTnZCi773fo0SheMfO670+u+94ZHpaUw8hYiAo6dF/gwlcA9P+4GtCxjbkIL5cU+Tinwz4"
    "8/3TbmLleXdU8P0lRO23V+lWFTP49K8+tNnXaFIVYtyYAGT0S80XUNQZzAfwfIIihPCN2+"
    "YPZbDru4b3q9Tmhx37Sjq/fh/qZFoGfIk0GqnWCMIMApaKHnh9ujEmjnQJutUWkCNcp051"
    "LpximFZre4ZtfRqBTR7IYpd6DZPZ2ZKJMm18MkVZWrQcuWviFTJW9TZK559GLGyzzjp2Wx"
    "Oaw0Lkw2uzPZlG5yq2SzKRu42xptbhvD20azlWazWUM9VTWerf/GJbv7MEAaTPAGcmG+I5"
    "eoEMxhjxNTQeaW+PToNaoKkCMn7AKmPr3Sbwgv0Q8AGOlXeAJZMcBG9GpVBWyi21sCNbQp"
    "JrPVjX6KZ20iSLkM79EF+I2um2RYexiNdPInzyo8WVGED20ONwV2AnJ8E7yTMdkhwT9+d+"
    "2EANfuEGyvoYyCcEU4piuCPw0xaJOV+UEaYaPNYKM1TFXmbGtNJKsLqCWoOj2aqBTuEL1y"
    "iU8Q7RR0m63b9n2j8+LN1dn5dUSP7LsexDw94MLbVHLguyYSAG8CeIryrl6X4jjQvj4hXC"
    "V5aZoIy6s8G3CUrgpW7H2bVE0ENfVvpEgG5ngjpS7mKKlY1amrmisYpQTW2TxD3klrIA8c"
    "Sif0/ckTUl19vytL5VP5h4mq9M1tKSFFlKv5UA2SCEw3W1J0T5W6pSmlairZs4gtJbiuQs"
    "aUAdk8Bu3bUY23I+wAWE74SkUhDm+ICSAfJ8zovakqHfQNcZV4686zNE3ejAwjXPU3tB99"
    "3sTRXbM5Foq8oyrynDnIgas3XhxYPBdFobHbp4hIzh+7cFSWT3xAR3JV0bwHyRyR1W52Wn"
    "VAKce41R0NPkv9TuO21awDhG1zJRkalJHi9d21O511H7XAsL5P7dGa7Fm1farb3n2/0xrR"
    "dllfGMwfk7Q2urct50IyBc+5yl2jzZqmUCW/a9m+qLA+JkvWjPPkrBnnsawZznvKmooSZJ"
    "iUUMg4afU0YLu3QrDlUwzwGKXAezPeS0MpqJYJUwq1TFnUMhzvW55jSD7lwZpAcGKbVQeu"
    "xLGlfFtN35uziGy7Xll5PTH3KdZ2dVudqjJ03zom2Yb6z9KEWxwYmU28rY3mCOhLe6I/18"
    "GTqdo2wkDFgEi0wCKPQWCE2HISzQFosXZHEwJUG5jI0E3bOgPkSdRvyEQKmKwAQfkn50mQ"
    "+SrKWx3khiLRZLlE8UfyWnnYK298BX1pdp9tz4ArTYccfNOiBn2SrcIFywb14eMFlaVBs0"
    "bkWdwhot2s8ONuHmG5+OfzLILxz+fJkjHti2tHlhwjenb1yJJnUt/ZfhKDu2YgrFDQ8mFe"
    "67e6zXb3fR249GM8bHVpFhsiaEa1FmPcHPT6fdqgmLphFNNjpG3s3my9S5yrdzHPM3KeLw"
    "yew0OyBTZAcjiGf1/OI7vWu2L0bEsuRAUEZw65CFUtj7Acd2JgwcXINHWOOTg5j0uYqgq6"
    "qEPncHEFioSTfPMhE6QvMf61/z60HuiRQW6ypGfI0DtxrMCJddwzxIBExJPokZfjFAkTiX"
    "Mk5hKnQbK3K9IkF68apirxui6NNOYhVsD1MEQpTukyn9LCwTT5AztNS0YWB1N6uhSY8gCZ"
    "+KrL/FWLhCEiYUgJrFRbJAzZv5kKmR9185HZVBIMVf6Is82mKvKiT2xwRmtVA5hLjAnIwK"
    "MHL4LWH4kxUa+M1cs6sxw5hiZg6k8WNR+5LBYgC2xFfltAf8Lgaa5qCHyxEMJkl/4CVAtM"
    "yaYyj5uuDn73LexYtv6IchWT8gkqp5LeFZOfbN9yZy8/Y+CTVZARrBJnQD5Zsxi/H6as4D"
    "RXjN+PcS/HOWydQB7OGetH+CQfressT6JW50lxzmlHjOtsmhyLl6bEi5FW7ozfh3OwW4Oo"
    "CORc4j2pT6sEurVaTPRctVHWFBV0FrrMUgPoMrkGUDzOxNS1wmEmHm2Zga6x2BE3aGSM+5"
    "8Hjft2sw6MlQkXqjLGo8aHltQf9O7aI/LpGGM8HPX6Uqc3HNaBpZH+QaPdYQYxOisa88G4"
    "Jd2tOpHfdAuN8ftBuym5t2HRhO69nPZP9LpO87NqF7GmnWeZ9PPkST+PTbrmhUVmPJP98a"
    "JuYdyQZqGvOaB0Rwt7ZAxGVSke7+bSlnojunkg+8NkuaIm9k6H2tedJINHLj7GwCqIu0db"
    "atzvG4MPLbIHO6XqxrjTvqdbsqYuVNvd7b0hlq0bkjOu0EadydMxxdEx5ud43CDbkm3cu0"
    "/DZKqzGeHGi6AcoxVob0Bb5CDcd648FhGdE+A1kcjZlr58v5F35xWkTV+/ayqxQWxA2ETK"
    "UkaSTlXHMZRTy4xFKEWpsRylxn7gUIoeaaoDnfx2RfqmK9P7aSLWWSJo26D1a+uW5ZMw0V"
    "9Itp30E/32wEk9YagmbXnofuj2PpILL/Ej1p9wEU7yOgMjeZ3IR15zMntaei7j75qicrUo"
    "96AZzuudLxzzt3DMF66WyQu9WqZXkSqkyrPO8bOIpQoRGVz3o2wVKVi2x1OkYNlnChaRv7"
    "Uk+VtFycFdlfLK6fEVKNDFcfsKl+9K9v0KVA3L7FLNaIC7bv5lAUtdLDU6W8BzYzkDT3No"
    "U99krNsAYsDcWshfAAGrfVQHXgnyM0B4ApUlIDoD1JBM9WFnzB2aBilHpeMD336MiXivaA"
    "hMyeXpbR33EXJNhY1RFWAhsgbppcALIkKqGP3kPcZPDrgs2+YrNhdD+i/NUkSTg7x8Bb6Q"
    "+1nk3l/AjDl9T1ZjrGMEnlR7DujDrID/RuvUR3REMOsRG838x9lrsmejb+k4ktsUCjcjkq"
    "0v5TlSRM6jEjrsuUshB7IBCuEvwNNbcrTxyTmOkpLiigxH9RwZjoQcnrzChRy+dzn85E+I"
    "rcIJMghCXgHYw4lBR52SHQhB/CjKHbHuiWEbnKrZm5j4HGEcdBl4TPGUMMUhlprypzTakA"
    "kFYK6TN6LRiC+C3Kzjpk42hL8sHb/8D41H/MpiESkhYYrHtd4/pOn7uBaPijzwvTeV0aUe"
    "l9HCG6EB1ABYIwNCjdEYiT8Fs3xIZrnkTrWlRzZQScrghf2mulN4JAf0o/DW7sm6UZQgHK"
    "tkduF9W93p3pFH/vPGC/FvC/GvNILAsRf3fg1Iws5xABb/YLHba15/RNW2tVRxwBmSQRxg"
    "KuAc4gCZO3nJ9Mk0kX6ELQ8x4OzKqQz4yGXAfT05sw0BeWlaOifF/+Fvv7VQsA4jZUMj0s"
    "G6l6xRIRoI0eCEkBXB1QcLri57nfc923oOXORdCARCIDjpvVkIBD+KQOC6pNR4koDXly4C"
    "eE4tmfj/ZGiFk0jJmFvBku2XJTutNBO1qea4S+QJdLvrNEbkYoRyjGlYTR1oOqsc9EtvQJ"
    "MczHWzUHqDtxnm4m3iVLyNz8TfeaNpPRIRqlzPEKrs5CHKCXGMVoQtb0DbzSQlJTBoyQVK"
    "onSVkft2pqCwDaoS5AXdJ4vQARIBaAxQN4VZHjE5SLOVqHw6G8FeJGUTQY2cX4pkYA6Dl7"
    "opR0nF+Ze6I08R4ije0tOguCQC2VRkhfdv8lZdXe/fo0eLnrzIvyOvX25caU6P3y2jSk/C"
    "2zchpnQPnr5BNDnKvAjYyfo8yx0okUffv07vj6B528ngI4zYB9XzeQXti6ihPNoy6/tqv3"
    "zutwaDYbsO5uT5TNNSnYTITi7kIuqnHedEEprWfWtakW2T+3M48ZQYvQCNMMtuIWyS20/V"
    "mTSH1jzPEo+QidxfkVXOKVBQ8vR5HKgVE05zGxWag8bdqA4Y7RgPHrpdlkvPrX82xv3GA8"
    "ufZ8Aly59H8yr3nTrStm4YbAxro4NYE8ueNxj0BnXg50M79plwnJjiH1wxJirci0R6JTuu"
    "T1SZIxLp/YiznkWFV6J6hSe065Z7kuPftstXFZrlIKWY5TLPsnC53Y9xXFR7F9XeS2C82F"
    "jtXSTE3JtfeL6EmKyqH6uNt2VazPfkQh2vxl5FUA8nofBT1xQHyc+TUxWAckUYBPwNAwEC"
    "fDQ9i/BmTIPBBifJ0PFRzWHAZYcJx3LrHTLJJlu6T4vwi2qZZW1yEsxMuOCygamRm2HC6r"
    "i9HDiGk35U7P8Y+slGqyBNFfTA+zZZTVXTsqW8KIepqofz+UUWYxIZlVy+8yJmUNIIR73k"
    "OrAnAx2kOaBV0En5tX+cd13a6qTql/sicB7T68OwNagDSjnGjeZ9u1sHUFmohQqL7TiGa6"
    "Lp8iPinZVp+eUCVKJUX44cczQd/DfOak8Fe00k0vllh9pUrUcJyjIyillNePRCq15mrTrW"
    "bXW6ctQ5RQ+U6DUOeLBAt5h8jnOlQavQE7oxHg0azdaw7lSVsMa42Wh3PteBAlWnoGpuXu"
    "oqCysVne0AJ3UVPWiEr0Iy9KdptRa+Cj/irCf5KuQIkAnwQ0tF5ayMPErlBr1ER5+d7Nmb"
    "rnd3TR1bat6raxqKcwCqDP28OsUR6wYuVVW4vEil4ihtGYpWVpD2mTmqgUxVntc4Bgu35y"
    "zNZAHXY4TN4mAn9bHqiiWrGJMLi1UhlOnibRYtFxmVKH+wvojuhXxUORB2h1cQ3fPXWSLF"
    "yKhk6e51LFaM3NFGPDeW5NCLAImIFMsZfbFVOPq2h9n3/wPCO81T"
)
