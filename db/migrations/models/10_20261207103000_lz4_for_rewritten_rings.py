"""Migration lz4_for_rewritten_rings (PostgreSQL): a bot's state and /why ring, rewritten at every candle close, are
compressed with lz4 instead of pglz (the ring, 2.6 kB when full, is taken apart and compressed again at every
close). Values stored before keep pglz until their next write. A server built without lz4 keeps pglz (a notice
says so); SQLite has no such setting."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_SQLITE_UP = r""""""

_POSTGRES_UP = r"""
        DO $$
        BEGIN
            EXECUTE 'ALTER TABLE "strategy_bots" ALTER COLUMN "decisions" SET COMPRESSION lz4';
            EXECUTE 'ALTER TABLE "strategy_bots" ALTER COLUMN "state" SET COMPRESSION lz4';
        EXCEPTION WHEN feature_not_supported OR syntax_error THEN
            RAISE NOTICE 'lz4 not available here: bots'' states and rings stay compressed with pglz';
        END $$;"""

_SQLITE_DOWN = r""""""

_POSTGRES_DOWN = r"""
        DO $$
        BEGIN
            EXECUTE 'ALTER TABLE "strategy_bots" ALTER COLUMN "decisions" SET COMPRESSION default';
            EXECUTE 'ALTER TABLE "strategy_bots" ALTER COLUMN "state" SET COMPRESSION default';
        EXCEPTION WHEN syntax_error THEN
            NULL;
        END $$;"""


def _is_postgres(db: BaseDBAsyncClient) -> bool:
    return db.capabilities.dialect == "postgres"


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_UP if _is_postgres(db) else _SQLITE_UP


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_DOWN if _is_postgres(db) else _SQLITE_DOWN


MODELS_STATE = (
    "eJztXVt32rgW/itavJx2rZxOk6ZphvNEAukwJcABMm1nmOUKW4AnRnZt04SZ0/9+JPmCL7"
    "Kxzc24eskKkrYv35alfdc/tYWuIM161Vgqqt3RZ7U6+KeG4QKRf2J9Z6AGDWPdQxtsONHY"
    "YEhHSZo7bGLZJpRt0jGFmoVIk4Is2VQNW9UxacVLTaONukwGqni2blpi9esSSbY+Q/Ycma"
    "Tjjz9Js4oV9Iws76fxKE1VpCmh51UVem/WLtkrg7W1sX3HBtK7TSRZ15YLvB5srOy5jv3R"
    "KrZp6wxhZEIb0cvb5pI+Pn0691W9N3KedD3EecQAjYKmcKnZgdedSOu2miR1eyNp2BpJUi"
    "0HQLKOKbjkUS329jP6CP++OL98d3n95urymgxhj+m3vPvu3HoNjEPI4OmOat9ZP7ShM4Jh"
    "vAaVcFE3JRtpaGbChcTD+EadJcLMJd+MuodxAHYXVB91b8ga9vVUOxzuP19cvHnz7uL1m6"
    "vrt5fv3r29fu0zIN6Vxomb9nvKDDJAJ1+O80153Alxgz5njAW3c2gmMsCliKBOXiYD6rHJ"
    "fmzYF/BZ0hCe2XPy8+oyBdHfGoPbXxqDF1eXL8Owdt2eC9YVBlif/IVk2wEpB8oRssNBXa"
    "sdBOg3FxmAfnORCDTt4gLNW082wsxdRU4f5N3PZgXZUHU26jDEvw57XT7EAZIIwIoq2+B/"
    "QFOtE1yuU5ClWNArLyzrqxZE9MV941MU7NtO74Zho1v2zGRXYRe4iSAvm4hiI0E7Dn6T9N"
    "jqAvEZEKaM8sAlfeX9s5spf1CBhbyf0sPayr1vCmdG7fvWcNS474fY02yMWrTngrWuIq0v"
    "riIs8y8CPrZHvwD6E/ze67aiXPTHjX6v0WeCS1uXsP4kQSUAkdfqwRhi+tJCJndFSxSPAh"
    "QVEoq2EkapeD995MqiFK04uHe6idQZ/oBWDOM2eSKIZd4+7Co0D+5lTgvb797c8VrXj2jC"
    "J18dCk4p8urkhZHNXp7cH3QfOp0aQ3gC5ccnaCpSCGrao1/okRZ/bLxrcbGItkAMZwwd+h"
    "r0oV3UW8/yHOIZasiyvmRPH9M0o0PO0hRO5A6WoDPa2r3i+Yc/48icQFrtT6GJHlET9Rie"
    "R2AM0lRQ/7l4nUFivHidKDHSrrDcsoDmI0rTf1p4uYitsyHMI5coM+y1Yb83qgPL0O0xHn"
    "5s9Mn/T9CoFWBFFtk9WXSPSe7OgpNjpvsEZca7NIoRNFTpEa0khOU4yCP0nGTNCpMVgrqc"
    "YgVX/G59GqUrRr703el133vDo9pSGHkLEQXHzgt8mErgnh93A1qWMTehhfJiH6cU+OfHny"
    "4bc1eqy7qmB2kqZ+06v8qwqJ9Htfn1ok67whCrlmRAg6ci3ui6hiBOkL8DZBGUJ4RuXzD7"
    "LYed3De9Xic0uW/a0dn7cH/TItAz5Mkg1U5wRhDgFLTQ88PtUQm0c6DN5qg0gRoVunOZdO"
    "OUwrJb3LLrWFSKWHbDlDuw7J4OJ8pkyfUwSTXlatCypW/IVMnbFOE1j15wvMwcPy2PzWG1"
    "ceGy2Z3LpnTMrZLPpmzgbuu0uW0MbxvNVprPZg31VNV4vv4bl+zuwwBpMCEayIX5jlyiQj"
    "CHI05MBZlb4tOj16gqQI6esAuY+vRKvyG8RD8AYKRf4SlkxQAb0atVFbCJbm8J1NCmmMxW"
    "N/op7rWJIOVyvEcn4Dc6b5Jh7WE00smfPLPwZFURPrQ5whTYDsiJTfB2xuSABH/73XUQAl"
    "yHQ7C1hgoKIhThmKEIPhti0CYb84M0wkebwUdrmKrMWdaaSFYXUEswdXo0US3cIXrlEp8g"
    "2inoNlu37ftG58Wbq7Pz64gd2Q89iEV6wIW3qOTAd00kAN4E8BTlnb0uxXGgfX1CuEry0j"
    "QRlld5FuAoXRW82Pt2qZoIaurfSJEMzIlGSp3MUVIxq1NnNVcxSkmss3mOvJO2QB44lU7Y"
    "+5MZUl17v6tL5TP5h4mq9M1tqSFFjKv5UA2SCEw3e1J0z5S6pSulaibZs4gvJTivQs6UAV"
    "k8Bu3bUY23IuwAWE76SkUhDi+ICSAfJ83ovakqHfQNcY14686zNEvejAwjUvU3tB973sSx"
    "XTMeC0PeUQ15Dg9y4OqNFxsWL0RRWOz2qSKS/ccunJXlEx8wkFxVNO9BMmdktZudVh1Qyj"
    "FudUeDz1K/07htNesAYdtcSYYGZaR4fXftTmfdRz0wrO9Te7Qme1Ztn+q2d9/vtEa0XdYX"
    "BovHJK2N7m3LuZBMwXOuctdos6YpVMnvWrYvKmyPyVI14zy5asZ5rGqG856ypqIEHSYlFT"
    "JOWj0L2O69EGz6FAM8Rinw3oz30lAKmmXClMIsUxazDCf6lhcYks94sCYQkthm04GrcWyp"
    "31Yz9uYsotuuZ1beSMx9qrVd3Vanqgzdt45ptqH+szTlFgdGZlNva6M5AvrSnujPdfBkqr"
    "aNMFAxIBotsMhjEBghtpxCcwBarN2xhADVBiYydNO2zgB5EvUbMpECJitAUP7JeRJkvorK"
    "Vge5oSg0WS5V/JG8Vh7xyhtfwVia3VfbM+BK0yEH37SsQZ9kq3TBskF9+HxBZWnQqhF5Jn"
    "eIaDcz/LiLR1gv/vk8i2L883myZkz74taRJceJnt08suS51He2nsTgrhkIKxS0fJjX+q1u"
    "s919Xwcu/RgPW11axYYomlGrxRg3B71+nzYopm4YxewYaQu7x613ibx6F4s8I/v5wuAFPC"
    "R7YAMkhxP49xU8smu7K0bPtuRCVEBx5pCLVNXyKMvxIAaWXIxMU+e4g5PruISpqmCLOnQN"
    "F1ehSNjJN28yQfoS41/770PrgW4Z5CZLuocMvR3HCuxYx91DDEhUPIlueTl2kTCR2EdiIX"
    "EaJGu7Ik1yyaphqhLP69JoYx5iBUIPQ5Rily7zLi0CTJM/sNP0ZGQJMKW7SwGWB8jEV13m"
    "r1oUDBEFQ0rgpdqiYMj+3VTI/Kibj8ynkuCo8kecbXZVkRd9YoMzeqsawFxiTEAGHj14Ef"
    "T+SEyIemWsXtaZ58hxNAFTf7Ko+8gVsQCZYCvy2wL6EwZPc1VD4IuFECar9BegWmBKFpV5"
    "3HV18Ltv4cey9UeU6zApn6ByJuldCfnJ/i2Xe/kFA5+sgoJglSQD8smaxeT9MGUF2VwxeT"
    "8mvRxns3USeTh7rJ/hk7y1rqs8ibM6T0pyTtti3GDT5Fy8NCNejLRye/w+goPdM4iKQM4l"
    "3pP5tEqgW6vFRM91NsqaooLBQpdZzgC6TD4DKJ5nYupa4TQTj7bMQNdY7oibNDLG/c+Dxn"
    "27WQfGyoQLVRnjUeNDS+oPenftEfl0jDEejnp9qdMbDuvA0kj/oNHuMIcY5YrGYjBuSXer"
    "TvQ33UJj/H7QbkrubVg2oXsvp/0Tva7T/KzaRbxp51mYfp7M9PMY0zUvLTLjnuyPF+cWxh"
    "1pFvqaA0p3tPBHxmBUleL5bi5tqReimweyPkyWK+pi73Sof90pMnjkw8cYWAVx92hLjft9"
    "Y/ChRdZg56i6Me607+mSrKkL1XZXe2+IZeuG5IwrtFBninRMCXSMxTkeN8m2ZAv37sswme"
    "psRqTxIijHaAXaG9AWNQj3XSuPZUTnBHhNJGq2pU/fb+TdeQfSps/fNZVYIDYgbCJlKSNJ"
    "p6bjGMqpx4xFKMVRYzmOGvuBUyl6pKkOdPLbVembrk7vl4lYV4mgbYPWr61bVk/CRH8h2X"
    "bKT/TbA6f0hKGatOWh+6Hb+0guvMSPWH/CRSTJ6wyC5HWiHHnNqexp6bmcv2uKyp1FuQfL"
    "cN7ofBGYv0Vgvgi1TJ7o1XK9ilIhVeY6J84iVipEVHDdj7FVlGDZHk9RgmWfJVhE/daS1G"
    "8VRw7u6iivnBFfgQO6OGFf4eO7kmO/AqeGZQ6pZjTAnTf/soClLpYa5RbwwljOwNMc2jQ2"
    "Ges2gBiwsBbyF0DAzj6qA+8I8jNAZAKVFSA6A9SRTO1hZywcmiYpR7XjA99+jIl6r2gITM"
    "nl6W2d8BFyTYWNURVgITIH6aXAC6JCqhj95D3GTw64rNrmK8aLIf2XVimixUFevgJfyP0s"
    "cu8vYMaCvierMdYxAk+qPQf0YVbAf6N16SM6Ilj1iI1m8ePsNdmz0bd0AsltCoVbEcnWl/"
    "IcKaLmUQkD9typkAPZAIWIF+DZLTnW+OQaR0lFcUWFo3qOCkdCD0+e4UIP37sefvI7xFbp"
    "BBkUIe8A2MOpQUdlyQ6UIH4W5Y5E98S0Dc6p2ZuE+BxpHHQaeELxlAjFIZGayqc025ApBW"
    "Cukzei2YgvgtKsE6ZOFoS/LB2//A/NR/zKchEpIRGKx7XeP6Tp+7gWz4o88L03HaNLIy6j"
    "B2+EBlAHYI0MCDVGcyT+FMLyIYXlkgfVlh7ZwElSBi/tNzWcwiM5YByFN3dPNoyiBOlYJf"
    "ML79vrTteOPPqfN16of1uof6VRBI49uffrQBJ+jgOI+AfL3V7L+iNqtq2lqgPOkAzqADMB"
    "51AHCO/kJbMn00L6EbE8JICzK6cK4CNXAPft5Mw3BOSlaemcEv+Hv/3WSsE6jZQNjWgH61"
    "4yR4VqIFSDE0JWJFcfLLm67Oe879nXc+BD3oVCIBSCk16bhULwoygEbkhKjacJeH3pKoAX"
    "1JJJ/k+GVgSJlEy4FSLZfkWy0yozUZtqTrhEnkS3u05jRC5GKMeYptXUgaazk4N+6Q1okY"
    "O5bhYqb/A2Ay/eJrLibZwTf+fNpvVIRKpyPUOqslOHKCfEMVqRtrwBbbeSlJQgoCUfUBKl"
    "q4zetzMDhW1QkyAv6T5ZhQ6QCEBjgLolzPKoyUGarVTl01kI9qIpmwhqZP9SJANzBLzURT"
    "lKKva/1BV5ihDH8JZeBsUlEcimIiuif5OX6upG/x49W/TkVf4dRf1y80pzRvxumVV6EtG+"
    "CTmle4j0DaLJMeZFwE6251nuQIk8+v5ten8E3dtOBR/hxD6onc870L6IGcqjLbO9r/bL53"
    "5rMBi262BOns80LdUpiOzUQi5iftpxTSRhad23pRXZNrk/RxJPydEL0Ai37BbKJrn9VJ1J"
    "c2jN80zxCJmo/RWZ5ZwDCkpePo8DtWLCaW6nQnPQuBvVAaMd48FDt8tq6bnnn41xv/HA6u"
    "cZcMnq59G6yn3nHGlbNww2hrXRQayJVc8bDHqDOvDroR17TzhOTvEPbhijRhbL82VnDt4J"
    "Egn0i6NPq2BIuSsYhqmqkK6SZq8RZQyFKW2zKU2UMfwRuZ7FgFqi0yJPaNUtN5Pj37Yr1R"
    "bicpBScLnMXBYBz/sJTQgccp4R1ACFQHRzCDmFK45u7vjxB/cyJwZuVtdRYFLxfUeiHOne"
    "ovLzlSNlZyqykwm3LEr6nlyo451wWBHUwyVA/MJBxUHyqxRVBaBc+R2BaM9AegYfTc8fvx"
    "nTYKrHSQp0fFRzuM/ZZsLxm3ubTLLDnK7TIvmlWk5xm+wEMxMuuGJgat5smLA6QUcHzqCl"
    "HxX7P4Z+ssswSFMFO/C+HYZT1bRsKS/KYarq4Xx+kcWVR0YlH556EXPnaUSiXnLTB5KBDt"
    "Ic0CfrFFzbP867PljspE6P91XgPI7vh2FrUAeUcowbzft2tw6gslALHeu24wy6iabLj4i3"
    "V6ZV9wtQiYMSc1T4o8X4v3FmeyrYayJRTDE71KZqPUpQlpFRzGvCoxdW9TJb1bFuq9OVY8"
    "4puqFEr3HAjQU6x9rk2VcanQ7ZSTRtjEeDRrM1rDtnelhj3Gy0O5/rQIGqc5xtblnqKoso"
    "FeV2QJK6im40IlYhGfrT9FqLWIUfketJsQo50pMC8tBSUTkzI49RuUEv0dFnJ7v3ptvdXV"
    "fHlpb36rqG4hKAKkO/qlFxxLqBS1UVLi9PrDhKWyYClhWkfdbtaiBTlec1jsPC7TlLc1nA"
    "9RjhszjYTn2sU92STYzJx7pVIZHs4m0WKxcZlah/sL6I7YV8VDkQdodXEN3z11ny9MioZO"
    "3udSxTj9zRRrwwluT0iwCJyNPLmX2xVTGAbTez7/8HqLBGsA=="
)
