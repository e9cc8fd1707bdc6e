"""Migration account_demo (both dialects)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_SQLITE_UP = r"""
        ALTER TABLE "exchange_accounts" ADD "is_demo" INT NOT NULL DEFAULT 0;"""

_POSTGRES_UP = r"""
        ALTER TABLE "exchange_accounts" ADD "is_demo" BOOL NOT NULL DEFAULT False;"""

_SQLITE_DOWN = r"""
        ALTER TABLE "exchange_accounts" DROP COLUMN "is_demo";"""

_POSTGRES_DOWN = r"""
        ALTER TABLE "exchange_accounts" DROP COLUMN "is_demo";"""


def _is_postgres(db: BaseDBAsyncClient) -> bool:
    return db.capabilities.dialect == "postgres"


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_UP if _is_postgres(db) else _SQLITE_UP


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_DOWN if _is_postgres(db) else _SQLITE_DOWN


MODELS_STATE = (
    "eJztXWl34rYa/is6fLnTc7jThKzD/UQSMkOHAJeQdtrS4xG2ADfGdr0kob3z368kL3iRjW"
    "0249GXHCLp9fJIlt79/ae20CSkmO9btiRbXW1Wa4J/aipcIPwj1lcHNajrqx7SYMGJQgdD"
    "MkpQ3GET0zKgaOGOKVRMhJskZIqGrFuypuJW1VYU0qiJeKCszlZNtir/ZSPB0mbImiMDd/"
    "z+B26WVQm9IdP7V38WpjJSpNDzyhK5N20XrKVO2zqqdU8HkrtNBFFT7IW6Gqwvrbmm+qNl"
    "1SKtM6QiA1qIXN4ybPL45OncV/XeyHnS1RDnEQM0EppCW7ECrzsRVm01Qej1R8JjeyQItR"
    "wAiZpKwMWPatK3n5FH+Hfj9Pzq/Prs8vwaD6GP6bdcfXNuvQLGIaTw9Ea1b7QfWtAZQTFe"
    "gYpnUTMECyloZsCFwML4Rp4lwswkX4+6h3EAdhdUH3VvyAr21VLbH+4fGo2zs6vGydnl9c"
    "X51dXF9Yk/AfGutJm46Xwkk4EHaPjLcb4pb3ZCs0GeMzYFt3NoJE6ASxFBHb9MBtRji/3Q"
    "sC/gm6AgdWbN8b+X5ymI/twa3n5qDd9dnv8QhrXn9jRoVxhgbfInEi0HpBwoR8j2B3Wtth"
    "egzxoZgD5rJAJNuphAs/aTtTAzd5HjB3n7q1lCFpSdgzoM8U+P/R4b4gBJBGBJFi3wP6DI"
    "5hFu1ynIEizIlRem+ZcSRPTdQ+tLFOzbbv+GYqOZ1sygV6EXuIkgLxqIYCNAKw7+He6x5A"
    "ViT0CYMjoHLul778d2lvxeGRb8flJfVZbufVNmZtR5aD+OWg+D0PTctUZt0tOgrctI67vL"
    "yJT5FwG/dEafAPkX/NbvtaOz6I8b/VYjzwRtSxNU7VWAUgAir9WDMTTptokM5o6WyB4FKC"
    "rEFG3EjBL2fvrM5EUJWnFw7zUDyTP1M1pSjDv4iaAqss5hV6B5ci9zXNh+89aO17p6RAO+"
    "+uJQcEnhV8cvjCz68vj+oPfU7dYowhMoPr9CQxJCUJMeraFFWvyx8a5FYxFtgSqcUXTIa5"
    "CHdlFvv4lzqM5QSxQ1mz59TNKMDqmnCZzIHSxAZ7S5fcHzd3/F4TWBlNofXBI9oCTqTXge"
    "hjFIU0H5p3GSgWNsnCRyjKQrzLcsoPGM0uSftmovYvtsCPPIJcoMe+1x0B81galr1lh9/K"
    "U1wL9foV4rMBVZePdk1j3GuTsbTo6V7hOUGe/SCEZQl4VntBSQKsZBHqG3JG1WmKwQ1OVk"
    "K5jsd/vLKF0w8rnvbr/30RselZbCyJsICzhWXuDDVBz3/Ljr0DT1uQFNlBf7OCXHPz/+ZN"
    "uYu1xd1j09SFM5bdfpZYZN/TQqza82ddIVhlg2BR3qLBHxRtMUBNUE/jtAFkF5gul2BbPf"
    "st/FfdPvd0OL+6YTXb1PDzdtDD1FHg+SrQRjBAZOQgstP9weFUc7B9p0jQoTqBCmO5dKN0"
    "7JNbvFNbuORqWIZjdMuQXN7vHMRJk0uR4mqapcBZqW8IIMGb9Nkblm0fMZL/OMH5fFZr/S"
    "ODfZbM9kU7rJrZLNpmzgbmq0uW093rbu2mk2mxXUU1lh2fpvXLL7z0OkwARvIBfme3yJCs"
    "Ec9jgxJGRsiE+fXKOqADlywjZgGpAr/YxUG30HgOF+iSWQFQNsRK5WVcAmmrUhUI8WwWS2"
    "vNGO8axNBCmX4T26AF/IukmGta+ikYb/5FmFRyuKsKHN4aZAT0CGb4J3MiY7JPjH77adEO"
    "DKHYLuNYRR4K4Ih3RF8KchBm2yMj9Iw220GWy0uiGLjG3tDonyAioJqk6PJiqFO0TvXeIj"
    "RDsF3bv2beeh1X13dlk/vY7okX3Xg5inB1x4m0oOfFdEHOB1AE9R3tXrUhwG2pMjwlUQbc"
    "NAqrjMswFH6apgxd61SdVAUJH/RpKgqwxvpNTFHCXlqzp1VTMFo5TAOotlyDtqDeSeQ+m4"
    "vj95Qqqr73dlqXwq/zBRlb65DSWkiHI1H6pBEo7pekuK5qlSNzSlVE0lW4/YUoLrKmRMGe"
    "LNY9i5HdVYO8IWgGWEr1QU4vCGmADyYcKMPhqy1EUviKnEW3XW0zR5MzwMc9UvaDf6vImj"
    "u6ZzzBV5B1XkOXOQA1dvPD+wWC6KXGO3SxERnz9W4agsn3iPjuSypHgPkjkiq3PXbTcBoR"
    "yr7d5o+Ksw6LZu23dNgFTLWAq6AkUkeX33nW531UcsMLTvS2e0InuTLZ/qtv8w6LZHpF3U"
    "Fjr1x8Strd5t27mQSMBzrnLf6tCmKZTx/7VsX1RYH5Mla8ZpctaM01jWDOc9RUVGCTJMSi"
    "hknLR6GrDtWyHo8ikGeIyS470eb1uXCqplwpRcLVMWtQzD+5blGJJPebAi4JzYetWBK3Fs"
    "KN9W0/emHpFtVysrryfmLsXanmbJU1mE7lvHJNtQfz1NuFUDI7OJt7XRHAHNtibaWxO8Gr"
    "JlIRXIKsASLTDxY2AYoWo6ieYANGm7owkBsgUMpGuGZdYBfhL5BRlIApMlwCj/6DwJMt5H"
    "eau93JAnmiyXKP6MXysPe+WNr6Avzfaz7elwqWiQgW9a1KBPslG4YNmg3n+8oGTrJGtEns"
    "UdItrOCj/s5hGWiz+cZhGMP5wmS8akL64dsRlG9OzqEZtlUt/afhKDu6YjVSKg5cO8Nmj3"
    "7jq9j03g0o/Vx3aPZLHBgmZUazFW74b9wYA0SIam68X0GGkbuzdbV4lzdRXzPMPn+UJnOT"
    "wkW2ADJPtj+HflPLJtvauK3izBhaiA4Mwg56Gq5RGW404MNLgYGYbGMAcn53EJU1VBF7Xv"
    "HC6uQJFwkq8/ZIL0Jca/9t+n9hM5MvBNbHKGPHonjhk4sQ57hugQi3gCOfJynCJhIn6OxF"
    "ziFIj3dkmY5OJVw1QlXtelkcY8xAq4HoYo+Sld5lOaO5gmf2DHacnI4mBKTpcCUx4g4191"
    "mb9qnjCEJwwpgZVqg4QhuzRTOb7FDPuU73ScbJhaJZ7g5cOO6mOup1h1XP+X5PCANLkiRl"
    "o5Tfgu/JXcsghFIGcS70iiqxLo5nIx0XKla19RVNB+eZ6lLMF5clmCuOuroSmFPV892jID"
    "XaPurK4f61gd/DpsPXTumkBfGnAhS2N11PrcFgbD/n1nhD8dfaw+jvoDodt/fGwCU8H9w1"
    "anS3V0ZFYUaha6xd3tJhAVzURj9eOwcye4t6EBDu69nPYv5LpO85tsFVHwnWaZ9NPkST+N"
    "TbriRWpkPJP98byUUly3Z6K/ckDpjuYq0hiMslTcBd+lLfVGdPOE94eJvSRa/26XqPydvE"
    "cHrodCwSqIu0dbatwfWsPPbbwHO9Vzxmq380C2ZEVeyJa723tDTEvTBWdcoY06k/NFiu9F"
    "zPXisHE/Jdu4t58ZwpBnM8yNF0E5RsvRXoM2T4u06/Q9NEgrJ8ArIp5GJn35vuB3Z9XIS1"
    "+/Kyq+QaxB2ECSLSJBI9arGMqplU8ilLz6SY7qJ9+xd2cfNzWBhv93Rfo7V6b3I1dXgauk"
    "bdj+qX1LQ1wNRMqlOxGxg87QiYbVZYO0PPU+9/q/4Avb6rOqvapFOMnrDIzkdSIfec1INm"
    "Y60StZtWgrisqVx9qBZjivwyD3FdzAV5B7fyQv9Op6f/Do5arNOsMpJBa9zJPK7UbZyqPC"
    "N8eTR4XvMiqcp5QrSUo5XgVpW9VFcnp8BWqGMNy+whVFkn2/AoVMMuYkaAFKA9x18y8TmP"
    "LCVshsAc+NpQ5e59ACsglUzQJQBdStBf8FENByDE3gVUWtA8wTyDQnQh0QQzLRh9VpZgES"
    "NxWVjvd8+7GKxXtJQWCKL09u67iP4GtKdIwsARPhNUguBd5hEVJW0Y/eY/zogEsTgL2nc/"
    "FIfpLECSRe+Yf34Cu+n4nv/RXMDO3VBJPlWNVUBF5law7IwyyB/0arbAxkRDARAx1NnsZ5"
    "Tfps5C0BvaZFoHCTNFiaLc6RxNMwlNBhz10KOZANUHB/AZbekqGNT067kJSnjyddaOZIus"
    "Dl8OQVzuXwncvhR39CxKTGPOEEGQQhrybd/sSgg07JFoQgdmDHllj3xLANRiHPdUx8jjAO"
    "sgw8pniKmeIQS034U9kyARUKwFzDb0Sye70LcrOOmzreEP40NfWH/4CvmAv+ShhuQoiZ4n"
    "Gt/w9u+jauxXOM7fne6yr7EY9Lngv8kJxvyT1kS49soFKFjhgCRKpvhEeyR6cIb+0erU8E"
    "Wcl5RAtvPJcsNpAsSsNjVmDPSLFNcBX6HrjHvYUFR8ubp3KafgX0dZzmqvB6Nk4Tz51oU1"
    "UlSRsb4fhCvJ1TqzeNtxu5vJ2vgqVmByDahqkxEtru//ac3yzDDsf5zb0oWXn47W7Dbzmn"
    "yTnNo94tOKf5vXCarhmdyWJ6fem8pWeIz8RYJkPLDdslY7c4k7BbJuG4QuNrU8Ux8eYJzr"
    "nvtkb4YphyrJJQgCZQNJqA/VN/SAKz55pRKCT7IsNcXCROxUV8Jv7OGwHokfDwymaG8Eon"
    "d0pOiGO0PNRyDdpu9hshgUFLzvMcpeN+SVGR2dKJrokVKJyIapCEAxoD1E27lEdMDtJsJC"
    "ofz0awE0nZQFDB55ck6CqDwUvdlKOk/PxL3ZGnCDF869NTN7gkHNlUZLnHYvJWXV2PxYNH"
    "uB29yL8lT0VmLFxOL8UNI+GOwkMxV3XUjTR5QTQZyrwI2Mn6PNMdKOBH5zq94/vA6yk6ve"
    "SaoetVTsdQP7T26ddBezh87DTBHD+fYZiyk7DVydVaRNW05ZwtXKu6a60qsix8fwbXnRJD"
    "FKDhJtgNBEt8+6k8E+bQnOdZ4hEynpsossoZCdRLnt6LAbVkwGluA8LdsHU/IrVYMe1YHT"
    "71ejTXl2GrKs31NWg90fxeOrRpfi+S93XglN6zNF13qr2O3IqutIlm9xoO+8Mm8PM1HfpM"
    "OEzM43euBONFQXmir5Id10equOGJvr7HWc+irsMHlVFs1sOUvMRfeSY5/m27fFWhWQ5S8l"
    "ku8yxz99rdGMJ5gUxeILMEhoq1BTJ5wr6d+YDnS9hHq47R2l0bpu37iC/U9WqAVQT1cFy9"
    "n1qjOEh+Ho+qAJQrmiDgWxgIBmCj6Vl/12MaDCw4SoaOjWoOYy09TBhWWu+QSTbPkn2am2"
    "WrZZa18EkwM+CCyQbeyLNkF9MwYXVcXD40GmdnV42Ts8vri/Orq4vrEx/zeFca+DedjwT/"
    "elBqYvPg9HcM/WSjVZCmCnrgXZusprJhWkJelMNU1cP5tJHFmIRHJZcXbMQMSgrmqG2ms3"
    "oy0EGaPVoFnSxGu8d526V3jqq+si8C5zG9Pj22h01AKMdq6+6h02sCKC3kQoWPthyvNVE0"
    "8Rmxzsq0lFkBKl5KLEfaLJKu+oWx2lPBXhHxDGXZoTZk81mAooj0YlYTFj3XqpdZq86t4c"
    "lHyHHaRbk1/Huc9SRreI5wi8CJa0syY2XkUVu2yCW62uxod/d0za6rTN9Qt1td40MILFWz"
    "5KksQj9LS3HEeoFLVRUuL+6lOEobBjaVFaRd5iFqIUMW5zWGStztqacpxeFqDNeK7+2kPl"
    "RlnWQlVnJpnSoEyzQusuhR8KhETQrti0j3+KPKgbA7vILonp5kiUXCo5I1sSexaCR8Rwux"
    "HCWSnfsDJDwWKad//0bBzZseZt/+DxagzgI="
)
