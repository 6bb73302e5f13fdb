"""Free ports for the tests' servers: a process never gets the same port (or its neighbour) twice."""

from tests.infra import free_port


def test_ports_handed_out_are_never_handed_out_again_nor_their_neighbours() -> None:
    # A stack's ports are all chosen before any service binds one: a port picked twice put two services on it.
    ports = [free_port() for _ in range(300)]
    taken = [p for port in ports for p in (port, port + 1)]
    assert len(set(taken)) == len(taken)
