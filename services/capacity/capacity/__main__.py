from capacity.app import NAME, create_app
from capacity.config import CapacitySettings
from shared.runtime import serve


def main() -> None:
    settings = CapacitySettings()
    serve(NAME, create_app(settings), settings)


main()
