"""huifang (回访): customer callbacks for the call centers of securities firms."""
