"""Migration user_notify_level (both dialects)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_SQLITE_UP = r"""
        ALTER TABLE "users" ADD "notify_level" VARCHAR(16) NOT NULL DEFAULT 'all' /* ALL: all\nTRADES: trades\nDAILY: daily */;"""

_POSTGRES_UP = r"""
        ALTER TABLE "users" ADD "notify_level" VARCHAR(16) NOT NULL DEFAULT 'all';
        COMMENT ON COLUMN users."notify_level" IS 'ALL: all\nTRADES: trades\nDAILY: daily';"""

_SQLITE_DOWN = r"""
        ALTER TABLE "users" DROP COLUMN "notify_level";"""

_POSTGRES_DOWN = r"""
        ALTER TABLE "users" DROP COLUMN "notify_level";"""


def _is_postgres(db: BaseDBAsyncClient) -> bool:
    return db.capabilities.dialect == "postgres"


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_UP if _is_postgres(db) else _SQLITE_UP


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_DOWN if _is_postgres(db) else _SQLITE_DOWN


MODELS_STATE = (
    "eJztXVt32rgW/itavJzOWpxOQ9Mkw3kigbRMCXCAzLQzzHKFLcATI3ts04SZ0/9+JNkGX2"
    "Rjm5tx9ZJFJG1fPsnSvu9/KgtdQZr1urFUVLujzyp18E8FwwUiPyJ9VVCBhrHpoQ02nGhs"
    "MKSjJM0dNrFsE8o26ZhCzUKkSUGWbKqGreqYtOKlptFGXSYDVTzbNC2x+tcSSbY+Q/Ycma"
    "Tj9z9Is4oV9IIs71/jSZqqSFMCz6sq9N6sXbJXBmtrY/ueDaR3m0iyri0XeDPYWNlzHa9H"
    "q9imrTOEkQltRC9vm0v6+PTp3Ff13sh50s0Q5xF9NAqawqVm+153Im3aKpLU7Y2kYWskSZ"
    "UMAMk6puCSR7XY28/oI/y7dnF5fXnz9uryhgxhj7luuf7m3HoDjEPI4OmOKt9YP7ShM4Jh"
    "vAGVzKJuSjbS0MyEC4mH8a06i4WZS74ddQ9jH+wuqGvUvSEb2DdL7Xi4/1SrvX17XXvz9u"
    "rm3eX19bubN+sJiHYlzcRt+z2dDDJAJ1+O8015sxOYDfqckSm4m0MzdgJcihDq5GVSoB5Z"
    "7KeGfQFfJA3hmT0n/15dJiD6S2Nw96ExeHV1+UMQ1q7bU2NdQYD1yZ9Ith2QMqAcIjse1J"
    "XKUYB+W0sB9NtaLNC0iws0bz/ZCjN3Fzl/kPe/mhVkQ9U5qIMQ/zzsdfkQ+0hCACuqbIP/"
    "AU21znC7TkCWYkGvvLCsvzQ/oq8eGp/CYN91ercMG92yZya7CrvAbQh52UQUGwnaUfCbpM"
    "dWF4g/AUHK8By4pK+9H/tZ8kdlWMj7KT2srdz7JszMqP3QGo4aD/3A9DQboxbtqbHWVaj1"
    "1VVoytYXAb+2Rx8A/Rf81uu2wrO4Hjf6rUKfCS5tXcL6swQVH0ReqwdjYNKXFjK5O1ose+"
    "SjKBFTtBMzStn76ROXF6VoRcG9102kzvBHtGIYt8kTQSzzzmFXoHl0L3Ne2H7z1o7XunlE"
    "Ez6vxSH/kiKvTl4Y2ezlyf1B97HTqTCEJ1B+eoamIgWgpj16TQ+1rMdGuxa1RbgFYjhj6N"
    "DXoA/tot56kecQz1BDlvUle/qIpBkeUk0SOJE7WILOaGv/gufv6xVH1gTSKn8ISfSEkqg3"
    "4VkYRj9NCeWf2psUHGPtTSzHSLuCfMsCmk8oSf5p4eUiss8GMA9dosiwV4b93qgOLEO3x3"
    "j4a6NPfj9Do5JjKtLw7vGse4RzdzacDCt9TVBkvAsjGEFDlZ7QSkJYjoI8Qi9x2qwgWS6o"
    "i8lWcNnv1qdRsmC05r47ve57b3hYWgoibyEi4NhZgQ9SCdyz425AyzLmJrRQVuyjlAL/7P"
    "jTbWPucnVp93Q/Tem0XRdXKTb1i7A0v9nUaVcQYtWSDGjwRMRbXdcQxDH8t48shPKE0B0K"
    "5nXLcRf3ba/XCSzu23Z49T4+3LYI9Ax5Mki1Y4wRBDgFLfTscHtUAu0MaLM1Kk2gRpnuTC"
    "rdKKXQ7ObX7DoalTya3SDlHjS75zMTRdLkepgkqnI1aNnSV2Sq5G3yzDWPXsx4kWf8vCw2"
    "x5XGhclmfyabwk1umWw2RQN3V6PNXWN412i2kmw2G6inqsaz9d+6ZPcfB0iDMd5ALsz35B"
    "IlgjnocWIqyNwRnx69RlkBcuSEfcDUp1f6BeEl+g4AI/0KTyDLB9iIXq2sgE10e0eghjbF"
    "ZLa61c/xrI0FKZPhPbwAv9J1Ew9rD6ORTv5kWYVnK4rwoc3gpsBOQI5vgncyxjskrI/ffT"
    "shwI07BNtrKKMgXBFO6YqwnoYItPHKfD+NsNGmsNEapipztrUmktUF1GJUnR5NWAp3iF67"
    "xGeIdgK6zdZd+6HRefX2qnpxE9Ijr10PIp4ecOFtKhnw3RAJgLcBPEVZV69LcRpo35wRrp"
    "K8NE2E5VWWDThMVwYr9qFNqiaCmvo3UiQDc7yREhdzmFSs6sRVzRWMEgLrbJ4h76w1kEcO"
    "pRP6/vgJKa++35Wlsqn8g0Rl+uZ2lJBCytVsqPpJBKbbLSm6p0rd0ZRSNpVsNWRL8a+rgD"
    "FlQDaPQftuVOHtCHsAlhO+UlKIgxtiDMinCTN6b6pKB31FXCXeprOapMmbkWGEq/6KDqPP"
    "mzi6azbHQpF3UkWeMwcZcPXGiwOL56IoNHaHFBHJ+WPnjspaEx/RkVxVNO9BUkdktZudVh"
    "1QyjFudUeDz1K/07hrNesAYdtcSYYGZaR4ffftTmfTRy0wrO9Te7Qhe1HtNdVd76HfaY1o"
    "u6wvDOaPSVob3buWcyGZgudc5b7RZk1TqJL/K+m+qKA+Jk3WjIv4rBkXkawZznvKmopiZJ"
    "iEUMgoafk0YPu3QrDlkw/wCKXAezveS0PJqZYJUgq1TFHUMhzvW55jSDblwYZAcGLbVQeu"
    "xLGjfFtO35tqSLbdrKysnpiHFGu7uq1OVRm6bx2RbAP91SThFvtGphNvK6M5AvrSnugvdf"
    "BsqraNMFAxIBItsMhjEBghtpxEcwBarN3RhADVBiYydNO2qoA8ifoVmUgBkxUgKP/oPAky"
    "X4d5q6PcUCSaLJYo/kReKwt75Y0voS/N/rPtGXCl6ZCDb1LU4Jpkp3DBokF9/HhBZWnQrB"
    "FZFneAaD8r/LSbR1Au/ukijWD800W8ZEz7otqRJceInl49suSZ1Pe2n0TgrhgIKxS0bJhX"
    "+q1us919Xwcu/RgPW12axYYImmGtxRg3B71+nzYopm4Y+fQYSRu7N1vXsXN1HfE8I+f5wu"
    "A5PMRbYH0kx2P4D+U8sm+9K0YvtuRClENw5pCLUNXiCMtRJwYWXIxMU+eYg+PzuASpyqCL"
    "OnYOF1egiDnJtx8yfvoC41/572PrkR4Z5CZLeoYMvRPH8p1Ypz1DDEhEPIkeeRlOkSCROE"
    "ciLnEaJHu7Ik0y8apBqgKv68JIYx5iOVwPA5TilC7yKS0cTOM/sPO0ZKRxMKWnS44p95GJ"
    "r7rIX7VIGCIShhTASrVDwpBDmqkc32KOfWrtdBxvmNoknhDlw87qY64mWHVc/5f48IAkuS"
    "JCWjpN+CH8ldyyCHkg5xIfSKIrE+jWajHRM6Vr31CU0H55maYswWV8WYKo66upa7k9Xz3a"
    "IgNdYe6srh/rGPc/DxoP7WYdGCsTLlRljEeNjy2pP+jdt0fk0zHGeDjq9aVObzisA0sj/Y"
    "NGu8N0dHRWNGYWuiPdrTqQNd1CY/x+0G5K7m1YgIN7L6f9E72u0/yi2nkUfBdpJv0iftIv"
    "IpOueZEaKc/k9XhRSimq27PQXxmgdEcLFWkERlXJ74Lv0hZ6I7p9JPvDZLmiWv9Oh6r8nb"
    "xHJ66HwsDKibtHW2jcHxqDjy2yBzvVc8a4036gW7KmLlTb3e29IZatG5IzLtdGncr5IsH3"
    "IuJ6cdq4n4Jt3PvPDGGqsxnhxvOgHKEVaG9BW6RFOnT6HhaklRHgDZFII5O8fL+Sd+fVyE"
    "tevxsqsUFsQdhEylJGkk6tVxGUEyufhChF9ZMM1U++Y+/OHmmqA53874r0TVemX0eubgJX"
    "adug9XPrjoW4moiWS3ciYvvtgRMNa6gmbXnsfuz2fiUXXuInrD/jPJzkTQpG8iaWj7zhJB"
    "uznOiVtFq0DUXpymMdQDOc1WFQ+Aru4CsovD/iF3p5vT9E9HLZZp3jFBKJXhZJ5Q6jbBVR"
    "4bvjKaLCDxkVLlLKFSSlnKiCtK/qIhk9vnw1QzhuX8GKIvG+X75CJilzEjQAowHuuvmXBS"
    "x1sdTobAHPjaUKnufQBqoFsG4DiAFzayF/AQSsHEMdeFVRq4DwBCrLiVAF1JBM9WFVllmA"
    "xk2FpeMj336MiXivaAhMyeXpbR33EXJNhY1RFWAhsgbppcArIkKqGP3oPcaPDrgsAdhrNh"
    "dD+pMmTqDxyj+8Bl/I/Sxy7y9gZurPFpisxljHCDyr9hzQh1mB9RttsjHQEf5EDGw0fRrn"
    "Ndmz0bcE7Jo2hcJN0mDrS3mOFJGGoYAOe+5SyICsj0L4C/D0lhxtfHzahbg8fSLpQj1D0g"
    "Uhh8evcCGHH1wOP/sTIiI1ZgknSCEIeTXpjicGnXRK9iAE8QM79sS6x4ZtcAp5bmPiM4Rx"
    "0GXgMcVTwhQHWGrKn6q2BZhQAOY6eSOa3euVn5t13NTJhvCnpeMf/gO+EC74C2W4KSFhis"
    "eV3j+k6du4Es0xduR7b6vsRz0uw7nAAwOoAbBCBgQawzESfwhm+ZjMcsGdaguPrK+4BV3d"
    "ESgT3Sk8kiP6UXhr92zdKAoQjlUwu/Chre5078gi/3njhfi3g/hXGEHg1Iv7sAYkYec4Ao"
    "t/tNjtcA36RHFgXaZ+mzjAVMAZxAEyd/KS6ZNpbt8QWx5gwJ2CykkM+MhlwNd6cmYbAvLS"
    "tHRO1uHj335noWATRsqGhqSDTS9Zo0I0EKLBGSErgquPFlxd9NKzB7b1HLnurBAIhEBw1n"
    "uzEAi+F4HAdUmp8CQBry9ZBPCcWlLx//HQCieRgjG3giU7LEt2XmkmKlPNcZfIEuh232mM"
    "yMUI5RjTsJo60HRWzOBDb0CTHMx1M1d6g3cp5uJd7FS8i87E31mjaT0SEapcTxGq7OQhyg"
    "hxhFaELW9B280kJcUwaPE508N0pZH79qagsA2qEuQF3ceL0D4SAWgEUDeFWRYx2U+zk6h8"
    "PhvBQSRlE0GNnF+KZGAOg5e4KYdJxfmXuCNPEeIo3pLToLgkAtlEZIX3b/xWXV7v35NHi5"
    "69yL8nr19uXGlGj98do0rPwts3U6XhnTR5fjQ5yrwQ2PH6PMsdKJFHFzq98/vAqwk6vfj6"
    "u9tVTudQi7fy4XO/NRgM23UwJ89nmpbqJD928h7nUTXtOf+R0KoeWquKbJvcn8N1J8Tj+W"
    "iECXYHwZLcfqrOpDm05lmWeIhM5PkKrXJOMYKCp8rjQK2YcJrZgNAcNO5HtK4xoR3jwWO3"
    "y/LmmUuMWd68fuOR5coz4JLlyqM5lPtOGUtbNwyncvLIrY7MmlimvMGgN6iDde6zU58Jp4"
    "kf/s6VYKLArkiaV7Dj+kwVNyJp3vc462nUdeSgMvPNepBSlMssziRHv22Xr8o1y35KMctF"
    "nmXhXnsYQ7goNiuKzRbAULG12KxIfnkwH/BsyS9ZBT9WB2/HFJjvyYU6Xj29kqAeTDixTl"
    "OTH6R1TpyyAJQpmsDnW+gLBuCj6Vl/t2PqDyw4S4aOj2oGYy07TDhWWu+QiTfP0n1amGXL"
    "ZZa1yUkwM+GCywYmRmkGCcvj4nLkeE36UbHfEfTjjVZ+mjLogQ9tspqqpmVLWVEOUpUP54"
    "taGmMSGRVfqrMWMShphKNecp3V44H20xzRKuik9zo8zvsuY3VWtcrXInAW0+vjsDWoA0o5"
    "xo3mQ7tbB1BZqLmKiO05Xmui6fIT4p2VSbnkfFSiLF+GfHI09ftXzmpPBHtDJFL3pYfaVK"
    "0nCcoyMvJZTXj0QqteZK061m11unLUOXkPlPA1jniwQLdwfIZzpUErzhO6MR4NGs3WsO5U"
    "kLDGuNlodz7XgQJVp3hqZl7qKg0rFZ5tHyd1FT5ohK9CPPTnabUWvgrf46zH+SpkCIbx8U"
    "NLReWsjCxK5Qa9REefne3Zm6x3d00dO2rey2sainIAqgzXOXTyI9b1XaqscHlRSflR2jHs"
    "rKggHTJLVAOZqjyvcAwWbk81yWQBN2OEzeJoJ/WpaojFqxjji4iVIZSp9i6NlouMipU/WF"
    "9I90I+qgwIu8NLiO7FmzSRYmRUvHT3JhIrRu5oI54bS3zohY9ERIpljL7YKfR818Ps2/8B"
    "skZbcQ=="
)
